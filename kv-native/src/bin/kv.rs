//! `kv`: read and write a kv store file from the shell. Run `kv --help` for usage.
//!
//! The arguments are parsed by hand: eight commands and a few options do not justify a parser
//! dependency that every user of the library would also compile.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::collections::BTreeMap;

use kv_core::Json;
use kv_native::{Error, JsonText, Kv, Lock, Rejected, Ttl, Value};
use serde_json::value::RawValue;

const HELP: &str = "\
kv: a durable JSON key-value store in one file

USAGE:
    kv [OPTIONS] <COMMAND> [ARGS]

COMMANDS:
    get KEY [DEFAULT]     Print the value under KEY as JSON (DEFAULT if there is none)
    set KEY [VALUE|-]     Set KEY to VALUE (- reads it from stdin); with no VALUE, to the
                          current unix time. --ttl DURATION: KEY expires after DURATION
                          (without it, a set removes KEY's expiry). --if-absent: only if
                          KEY does not exist; prints true if it was set, false if not
    touch KEY             Set KEY to the current unix time and print it (--ttl as for set)
    ttl KEY               Print the seconds KEY has left as a JSON number (3599.998), or
                          null if it never expires
    expire KEY DURATION|none
                          KEY expires after DURATION from now, or never (none)
    purge                 Remove every expired key from the file and print how many
    delete KEY            Remove KEY
    list                  Print the whole store as a JSON object
    clear                 Remove every key
    import FILE|-         Merge a JSON object from FILE (or stdin) in one write
    export                Print the whole store as its file holds it once compacted
    compact               Fold the journal into the store file

OPTIONS:
    -f, --file PATH       The store file. Default: $KV_FILE, else ./kv.json
    --redis URL           The store is in Redis instead (redis://[user:password@]host[:port][/db],
    --store NAME          rediss:// for TLS): the hash kv:{NAME}. Excludes --file
    -s, --string          Take VALUE and DEFAULT as text, never as JSON
    -r, --raw             get prints a string as its text, without quotes or escapes
    -w, --wait[=SECONDS]  A write waits for the lock another program holds (at most SECONDS)
    -t, --ttl DURATION    set and touch: the key expires DURATION from now
    --if-absent           set: only a key that does not exist (or has expired)
    -h, --help            Print this help
    -V, --version         Print the version

VALUES:
    VALUE is read as JSON: 42, true, null, [1,2], {\"a\":1}, \"quoted text\".
    Text that is not JSON is taken as a string, so `kv set cmd ping` stores \"ping\",
    unless it starts with {, [ or \" (then it is JSON with a mistake, and an error).
    Use --string for text that looks like JSON: `kv set -s version 42` stores \"42\".
    `kv set KEY -` reads VALUE from stdin, dropping one trailing newline (for values too
    long for the command line). Negative numbers need no `--`: `kv set n -5`.
    Output is JSON, numbers with the digits the file holds (18446744073709551616).

    DURATION is seconds (90, 1.5) or a number with a unit: 500ms, 90s, 15m, 2h, 30d.
    It is at least 1 ms; zero, negative or malformed is a usage error (exit 2). From
    the moment a key expires, by the system clock, get, list and export never show it;
    the file keeps it until a later write or `kv purge` removes it.

    Every write is durable when kv exits 0. A write takes the store's lock (the file
    PATH.lock next to it): a store another program has open is not touched, unless
    --wait is given. get, list and export take no lock and create nothing: they work
    while another program writes, and where you may not write.

EXIT STATUS:
    0  ok
    1  the key does not exist (get without DEFAULT, delete, ttl); stderr says which
    2  usage: bad arguments, a VALUE that is not valid JSON, a write over the limits
       (the message names the key), a PATH that names a directory
    3  the store is locked by another program (and --wait=SECONDS ran out)
    4  the store file is corrupt (it is left exactly as it is)
    5  any other I/O error, a store file that is read-only (chmod u+w to write it)

EXAMPLES:
    kv set last_command ping
    kv get last_command                  # \"ping\"
    kv get retries 0                     # 0 if unset
    kv get --raw last_command            # ping
    kv --wait=10 set last_command ping   # waits up to 10 s for another writer
    kv set report - < report.txt         # VALUE from stdin
    kv set --file ~/.bot.json seen:123   # now, in unix seconds
    kv touch rate:alice                  # prints the time it stored
    kv set --ttl 30d seen:123            # seen now, forgotten in 30 days
    kv set --if-absent --ttl 1h lock:job # true the first time within the hour
    kv ttl seen:123                      # 2591999.998
    kv expire seen:123 none              # kept forever
    kv delete seen:123 || echo 'was not there'
    echo '{\"a\": 1, \"b\": [2]}' | kv import -
    kv export > backup.json
";

/// Exit statuses, as documented in `HELP`.
mod status {
    pub(crate) const MISSING: u8 = 1;
    pub(crate) const USAGE: u8 = 2;
    pub(crate) const LOCKED: u8 = 3;
    pub(crate) const CORRUPT: u8 = 4;
    pub(crate) const IO: u8 = 5;
}

#[derive(Debug)]
enum Command {
    Get {
        key: String,
        default: Option<JsonText>,
    },
    Set {
        key: String,
        value: Option<JsonText>,
        ttl: Option<Duration>,
        if_absent: bool,
    },
    Touch {
        key: String,
        ttl: Option<Duration>,
    },
    Ttl {
        key: String,
    },
    Expire {
        key: String,
        ttl: Option<Duration>,
    },
    Purge,
    Delete {
        key: String,
    },
    List,
    Clear,
    Import {
        source: String,
    },
    Export,
    Compact,
}

#[derive(Debug)]
enum Parsed {
    Help,
    Version,
    Run {
        target: Target,
        command: Command,
        how: How,
    },
}

/// Where the store is: a file, or a hash on a Redis server (`--redis URL --store NAME`).
#[derive(Debug)]
enum Target {
    File(PathBuf),
    Redis { url: String, name: String },
}

/// How to run a command: what a write does about another lock holder, how `get` prints.
#[derive(Debug, Clone, Copy)]
struct How {
    lock: Lock,
    raw: bool,
}

/// A failure, with the exit status it maps to.
#[derive(Debug)]
struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    fn io(message: String) -> Self {
        Self {
            status: status::IO,
            message,
        }
    }

    fn missing(key: &str, file: &std::path::Path, exists: bool) -> Self {
        let absent = if exists {
            ""
        } else {
            " (there is no such file)"
        };
        Self {
            status: status::MISSING,
            message: format!("no key {} in {}{absent}", quoted(key), file.display()),
        }
    }

    /// A write refused by the store, naming the key it was refused for.
    fn for_key(key: &str, e: impl Into<Error>) -> Self {
        match e.into() {
            Error::Rejected(r @ (Rejected::Limit(_) | Rejected::Ttl(_))) => Self {
                status: status::USAGE,
                message: format!("cannot set {}: {r}", quoted(key)),
            },
            other => other.into(),
        }
    }

    fn usage(message: impl Into<String>) -> Self {
        Self {
            status: status::USAGE,
            message: format!("{}\nRun `kv --help` for usage.", message.into()),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Locked { .. } => status::LOCKED,
            Error::Corrupt { .. } => status::CORRUPT,
            Error::Rejected(_) | Error::Value { .. } => status::USAGE,
            Error::Io(io) if io.io_error().kind() == io::ErrorKind::InvalidInput => status::USAGE,
            _ => status::IO,
        };
        Self {
            status,
            message: e.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let outcome = parse(std::env::args_os().skip(1)).and_then(|parsed| match parsed {
        Parsed::Help => print(HELP.trim_end()),
        Parsed::Version => print(&format!("kv {}", env!("CARGO_PKG_VERSION"))),
        Parsed::Run {
            target: Target::File(file),
            command,
            how,
        } => run(&file, command, how),
        Parsed::Run {
            target: Target::Redis { url, name },
            command,
            how,
        } => redis::run(&url, &name, command, how),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("kv: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

fn parse(args: impl Iterator<Item = OsString>) -> Result<Parsed, Failure> {
    let mut file = None;
    let (mut redis, mut store) = (None, None);
    let mut as_string = false;
    let (mut ttl, mut if_absent) = (None, false);
    let mut how = How {
        lock: Lock::Fail,
        raw: false,
    };
    let mut positional = Vec::new();
    let mut options_done = false;
    let mut args = args.map(|a| {
        a.into_string()
            .map_err(|a| Failure::usage(format!("argument is not UTF-8: {}", a.display())))
    });
    while let Some(arg) = args.next() {
        let arg = arg?;
        // A negative number is a VALUE or DEFAULT, not an option: `kv set n -5`.
        let negative = arg
            .strip_prefix('-')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'));
        if options_done || !arg.starts_with('-') || arg == "-" || negative {
            positional.push(arg);
            continue;
        }
        match arg.as_str() {
            "--" => options_done = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "-s" | "--string" => as_string = true,
            "-r" | "--raw" => how.raw = true,
            "-w" | "--wait" => how.lock = Lock::Wait,
            "--if-absent" => if_absent = true,
            "-t" | "--ttl" => match args.next() {
                Some(duration) => ttl = Some(duration_arg(&arg, &duration?)?),
                None => return Err(Failure::usage(format!("{arg} needs a DURATION"))),
            },
            "-f" | "--file" => match args.next() {
                Some(path) => file = Some(PathBuf::from(path?)),
                None => return Err(Failure::usage(format!("{arg} needs a PATH"))),
            },
            "--redis" => match args.next() {
                Some(url) => redis = Some(url?),
                None => return Err(Failure::usage("--redis needs a URL")),
            },
            "--store" => match args.next() {
                Some(name) => store = Some(name?),
                None => return Err(Failure::usage("--store needs a NAME")),
            },
            _ => {
                if let Some(path) = arg.strip_prefix("--file=") {
                    file = Some(PathBuf::from(path));
                } else if let Some(url) = arg.strip_prefix("--redis=") {
                    redis = Some(url.to_owned());
                } else if let Some(name) = arg.strip_prefix("--store=") {
                    store = Some(name.to_owned());
                } else if let Some(duration) = arg.strip_prefix("--ttl=") {
                    ttl = Some(duration_arg("--ttl", duration)?);
                } else if let Some(seconds) = arg.strip_prefix("--wait=") {
                    how.lock = Lock::WaitUpTo(wait_limit(seconds)?);
                } else {
                    return Err(Failure::usage(format!("unknown option {arg}")));
                }
            }
        }
    }
    let target = match (file, redis, store) {
        (Some(_), Some(_), _) => {
            return Err(Failure::usage(
                "--file and --redis exclude each other: a store is in a file or in Redis",
            ));
        }
        (None, Some(url), Some(name)) => Target::Redis { url, name },
        (None, Some(_), None) => {
            return Err(Failure::usage(
                "--redis needs --store NAME: which store on that server",
            ));
        }
        (_, None, Some(_)) => return Err(Failure::usage("--store NAME goes with --redis URL")),
        (file, None, None) => Target::File(
            file.or_else(|| std::env::var_os("KV_FILE").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("kv.json")),
        ),
    };
    let value = |text: &str| -> Result<JsonText, Failure> {
        let stdin;
        let text = if text == "-" {
            stdin = read_stdin()?;
            stdin
                .strip_suffix('\n')
                .map_or(&stdin[..], |t| t.strip_suffix('\r').unwrap_or(t))
        } else {
            text
        };
        if as_string {
            Ok(JsonText::string(text))
        } else {
            parse_value(text)
        }
    };
    let mut positional = positional.into_iter();
    let Some(name) = positional.next() else {
        return Err(Failure::usage("no command given"));
    };
    let rest: Vec<String> = positional.collect();
    let arity = |min: usize, max: usize, usage: &str| {
        if rest.len() < min || rest.len() > max {
            Err(Failure::usage(format!("usage: kv {usage}")))
        } else {
            Ok(())
        }
    };
    let key = || rest.first().cloned().unwrap_or_default();
    let command = match name.as_str() {
        "get" => {
            arity(1, 2, "get KEY [DEFAULT]")?;
            let default = rest.get(1).map(|d| value(d)).transpose()?;
            Command::Get {
                key: key(),
                default,
            }
        }
        "set" => {
            arity(1, 2, "set [--ttl DURATION] [--if-absent] KEY [VALUE|-]")?;
            let value = rest.get(1).map(|v| value(v)).transpose()?;
            Command::Set {
                key: key(),
                value,
                ttl,
                if_absent,
            }
        }
        "touch" => {
            arity(1, 1, "touch [--ttl DURATION] KEY")?;
            Command::Touch { key: key(), ttl }
        }
        "ttl" => {
            arity(1, 1, "ttl KEY")?;
            Command::Ttl { key: key() }
        }
        "expire" => {
            arity(2, 2, "expire KEY DURATION|none")?;
            let ttl = match rest[1].as_str() {
                "none" => None,
                duration => Some(parse_duration(duration).map_err(|why| {
                    Failure::usage(format!("expire {} {duration}: {why}", key()))
                })?),
            };
            Command::Expire { key: key(), ttl }
        }
        "purge" => {
            arity(0, 0, "purge")?;
            Command::Purge
        }
        "delete" => {
            arity(1, 1, "delete KEY")?;
            Command::Delete { key: key() }
        }
        "list" => {
            arity(0, 0, "list")?;
            Command::List
        }
        "clear" => {
            arity(0, 0, "clear")?;
            Command::Clear
        }
        "import" => {
            arity(1, 1, "import FILE|-")?;
            Command::Import { source: key() }
        }
        "export" => {
            arity(0, 0, "export")?;
            Command::Export
        }
        "compact" => {
            arity(0, 0, "compact")?;
            Command::Compact
        }
        other => return Err(Failure::usage(format!("unknown command {other:?}"))),
    };
    if ttl.is_some() && !matches!(command, Command::Set { .. } | Command::Touch { .. }) {
        return Err(Failure::usage(format!(
            "--ttl goes with set or touch, not {name}"
        )));
    }
    if if_absent && !matches!(command, Command::Set { .. }) {
        return Err(Failure::usage(format!(
            "--if-absent goes with set, not {name}"
        )));
    }
    Ok(Parsed::Run {
        target,
        command,
        how,
    })
}

/// The DURATION of `option DURATION`, or a usage error naming both.
fn duration_arg(option: &str, text: &str) -> Result<Duration, Failure> {
    parse_duration(text).map_err(|why| Failure::usage(format!("{option} {text}: {why}")))
}

/// A DURATION: a decimal number of seconds (`90`, `1.5`), or of the unit that follows it
/// (`500ms`, `90s`, `15m`, `2h`, `30d`); exact to the nanosecond, at least 1 ms.
fn parse_duration(text: &str) -> Result<Duration, String> {
    const MALFORMED: &str = "DURATION must be a number of seconds (90, 1.5) or a number with \
                             ms, s, m, h or d (500ms, 15m, 30d)";
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_ns: u128 = match unit {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ if text.starts_with('-') => return Err("DURATION must be more than 0".into()),
        _ => return Err(MALFORMED.into()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits(whole)
        || !digits(fraction)
        || (number.contains('.') && fraction.is_empty())
        || whole.len() > 20
        || fraction.len() > 20
    {
        return Err(MALFORMED.into());
    }
    let parse = |d: &str| d.parse::<u128>().unwrap_or(0);
    let ns = parse(whole) * unit_ns + parse(fraction) * unit_ns / 10u128.pow(fraction.len() as u32);
    if ns == 0 {
        return Err("DURATION must be more than 0".into());
    }
    if ns < 1_000_000 {
        return Err("DURATION must be at least 1 ms".into());
    }
    if ns / 1_000_000 > u128::from(kv_native::MAX_EXPIRY_MS) {
        return Err(
            "DURATION ends after the latest expiry a store holds (2^53 - 1 ms after 1970)".into(),
        );
    }
    let secs = u64::try_from(ns / 1_000_000_000).map_err(|_| MALFORMED.to_owned())?;
    Ok(Duration::new(secs, (ns % 1_000_000_000) as u32))
}

/// A time left as seconds in JSON: `90`, `1.5`, `3599.998` (to the millisecond).
fn seconds_json(left: Duration) -> String {
    let ms = left.as_millis();
    let mut text = format!("{}.{:03}", ms / 1000, ms % 1000);
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    text
}

/// A `set` of every kind, in a transaction: with or without VALUE (none: the current unix
/// time), a ttl, and only if absent; the answer of an `--if-absent` one.
fn set_in<V: Json + FromText>(
    tx: &mut kv_core::Transaction<'_, V>,
    key: &str,
    value: Option<JsonText>,
    ttl: Option<Duration>,
    if_absent: bool,
) -> Result<Option<bool>, Rejected> {
    let value = V::from_text(value.unwrap_or_else(|| JsonText::from(tx.now())));
    let key = key.to_owned();
    Ok(match (if_absent, ttl) {
        (false, None) => tx.set(key, value).map(|()| None)?,
        (false, Some(ttl)) => tx.set_with_ttl(key, value, ttl).map(|()| None)?,
        (true, None) => Some(tx.set_if_absent(key, value)?),
        (true, Some(ttl)) => Some(tx.set_if_absent_with_ttl(key, value, ttl)?),
    })
}

/// What `kv ttl` prints for `ttl`, or that KEY is missing (`None`).
fn ttl_text(ttl: Ttl) -> Option<String> {
    match ttl {
        Ttl::Missing => None,
        Ttl::Never => Some("null".into()),
        Ttl::Left(left) => Some(seconds_json(left)),
    }
}

/// The SECONDS of `--wait=SECONDS`.
fn wait_limit(seconds: &str) -> Result<Duration, Failure> {
    seconds
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            Failure::usage(format!(
                "--wait={seconds}: SECONDS must be a number of seconds, 0 or more"
            ))
        })
}

/// `key` as a JSON string, as messages quote keys.
fn quoted(key: &str) -> String {
    Value::from(key).to_string()
}

/// JSON if `text` is JSON; otherwise the text itself as a string, unless it starts the way a
/// JSON object, array or string does: then it is a mistake, and an error says where.
fn parse_value(text: &str) -> Result<JsonText, Failure> {
    match JsonText::new(text) {
        Ok(value) => Ok(compacted(value)),
        Err(e) if text.trim_start().starts_with(['{', '[', '"']) => Err(Failure::usage(format!(
            "VALUE looks like JSON but is not valid JSON ({e}); use --string to store it as text"
        ))),
        Err(_) => Ok(JsonText::string(text)),
    }
}

/// Runs `command` on the store at `file`. Reads open it read-only: no lock, nothing created.
fn run(file: &std::path::Path, command: Command, how: How) -> Result<(), Failure> {
    let write = || -> Result<Kv, Failure> {
        Kv::options().lock(how.lock).open(file).map_err(|e| {
            let mut failure = Failure::from(e);
            if let Lock::WaitUpTo(limit) = how.lock
                && failure.status == status::LOCKED
            {
                failure.message += &format!(" (waited {} s)", limit.as_secs_f64());
            }
            failure
        })
    };
    match command {
        Command::Get { key, default } => {
            let kv = Kv::open_read_only(file)?;
            match kv.get_text(&key).or(default) {
                Some(text) => print_text(&text, how.raw),
                None => Err(Failure::missing(&key, kv.path(), kv.exists())),
            }
        }
        Command::Set {
            key,
            value,
            ttl,
            if_absent,
        } => {
            let set = write()?.transaction(|tx| {
                set_in(tx.text(), &key, value, ttl, if_absent)
                    .map_err(|e| Failure::for_key(&key, e))
            })?;
            match set {
                Some(set) => print(&set.to_string()),
                None => Ok(()),
            }
        }
        Command::Touch { key, ttl } => {
            let kv = write()?;
            let now = match ttl {
                Some(ttl) => kv.touch_with_ttl(key.clone(), ttl),
                None => kv.touch(key.clone()),
            }
            .map_err(|e| Failure::for_key(&key, e))?;
            print(&now.to_string())
        }
        Command::Ttl { key } => {
            let kv = Kv::open_read_only(file)?;
            match ttl_text(kv.ttl(&key)) {
                Some(text) => print(&text),
                None => Err(Failure::missing(&key, kv.path(), kv.exists())),
            }
        }
        Command::Expire { key, ttl } => {
            let kv = write()?;
            match kv
                .expire(&key, ttl)
                .map_err(|e| Failure::for_key(&key, e))?
            {
                true => Ok(()),
                false => Err(Failure::missing(&key, kv.path(), true)),
            }
        }
        Command::Purge => print(&write()?.purge()?.to_string()),
        Command::Delete { key } => {
            let kv = write()?;
            match kv.delete(&key)? {
                true => Ok(()),
                false => Err(Failure::missing(&key, kv.path(), true)),
            }
        }
        Command::List => print(&pretty_object(&Kv::open_read_only(file)?.get_all_text())),
        Command::Clear => Ok(write()?.clear()?),
        Command::Import { source } => {
            let entries = read_object(&source)?;
            write()?.transaction(|tx| stage_import(tx.text(), entries))
        }
        Command::Export => write_stdout(&Kv::open_read_only(file)?.export()),
        Command::Compact => Ok(write()?.compact()?),
    }
}

/// All of standard input, as text.
fn read_stdin() -> Result<String, Failure> {
    let mut text = String::new();
    io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::io(format!("could not read stdin: {e}")))?;
    Ok(text)
}

/// The JSON object in `source` (a path, or `-` for stdin).
/// Stages `entries` on `tx` as `export` wrote them: a `"\u0000expires"` member (unix ms per
/// key, docs/design.md) gives each key its expiry, and a key that has expired already is left
/// out; any other key beginning with U+0000 is refused.
fn stage_import<V: Json + FromText>(
    tx: &mut kv_core::Transaction<'_, V>,
    mut entries: BTreeMap<String, JsonText>,
) -> Result<(), Failure> {
    let expiries = match entries.remove("\u{0}expires").map(|text| text.value()) {
        None => kv_native::Map::new(),
        Some(Value::Object(expiries)) => expiries,
        Some(_) => {
            return Err(Failure::usage(
                "the \"\\u0000expires\" member is not an object of unix milliseconds",
            ));
        }
    };
    let now = tx.now_ms();
    for (key, value) in entries {
        let value = V::from_text(value);
        let staged = match expiries.get(&key) {
            None => tx.set(key.clone(), value),
            Some(at) => match at.as_u64() {
                Some(at) if at <= now => continue,
                Some(at) => tx.set_with_ttl(key.clone(), value, Duration::from_millis(at - now)),
                None => {
                    return Err(Failure::usage(format!(
                        "the expiry of {} is not a whole number of unix milliseconds",
                        quoted(&key)
                    )));
                }
            },
        };
        staged.map_err(|e| Failure::for_key(&key, e))?;
    }
    Ok(())
}

/// A store's value as the CLI reads it: JSON text, kept as written for a file (whose store
/// holds text), parsed for Redis (whose store holds `Value`s).
trait FromText {
    fn from_text(text: JsonText) -> Self;
}

impl FromText for JsonText {
    fn from_text(text: JsonText) -> Self {
        text
    }
}

impl FromText for Value {
    fn from_text(text: JsonText) -> Self {
        text.value()
    }
}

/// The members of the JSON object in `source` (a path, or `-` for stdin), each value as the
/// text it was written as (a key given twice keeps its last value).
fn read_object(source: &str) -> Result<BTreeMap<String, JsonText>, Failure> {
    let text = if source == "-" {
        read_stdin()?
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Failure::io(format!("could not read {source}: {e}")))?
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match serde_json::from_str::<BTreeMap<String, &RawValue>>(text) {
        Ok(members) => members
            .into_iter()
            .map(|(key, raw)| match JsonText::new(raw.get()) {
                Ok(value) => Ok((key, compacted(value))),
                Err(e) => Err(Failure::usage(format!(
                    "{source}: the value of {} is not valid JSON: {e}",
                    quoted(&key)
                ))),
            })
            .collect(),
        Err(_) if serde_json::from_str::<Value>(text).is_ok() => Err(Failure::usage(format!(
            "{source} does not hold a JSON object"
        ))),
        Err(e) => Err(Failure::usage(format!("{source} is not valid JSON: {e}"))),
    }
}

/// Prints a value: its JSON text as stored, or with `--raw` a string's text itself.
fn print_text(text: &JsonText, raw: bool) -> Result<(), Failure> {
    match text.value() {
        Value::String(string) if raw => print(&string),
        _ => print(&compact(text)),
    }
}

/// The object of `entries` in serde_json's pretty form (two spaces per level), each value's
/// text re-indented but otherwise as stored, so a number keeps its spelling.
fn pretty_object(entries: &BTreeMap<String, JsonText>) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str(&Value::from(key.as_str()).to_string());
        out.push_str(": ");
        layout_into(&mut out, value.as_str(), Some(1));
    }
    out.push_str(if entries.is_empty() { "}" } else { "\n}" });
    out
}

/// Appends JSON `text` laid out again: with `Some(level)`, in serde_json's pretty form at
/// `level`; with `None`, compact. Only whitespace between tokens changes: strings and numbers
/// are copied as they are.
fn layout_into(out: &mut String, text: &str, mut level: Option<usize>) {
    let newline = |out: &mut String, level: Option<usize>| {
        if let Some(level) = level {
            out.push('\n');
            out.extend(std::iter::repeat_n("  ", level));
        }
    };
    let step = |level: Option<usize>, up: bool| {
        level.map(|l| if up { l + 1 } else { l.saturating_sub(1) })
    };
    let mut chars = text.chars().peekable();
    let (mut in_string, mut escaped) = (false, false);
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => {}
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars
                    .next_if(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                    .is_some()
                {}
                if chars.peek().is_some_and(|&next| next == '}' || next == ']') {
                    out.extend(chars.next());
                } else {
                    level = step(level, true);
                    newline(out, level);
                }
            }
            '}' | ']' => {
                level = step(level, false);
                newline(out, level);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(out, level);
            }
            ':' if level.is_some() => out.push_str(": "),
            _ => out.push(c),
        }
    }
}

/// `value` as it is stored: without whitespace between its tokens, as every other writer of
/// the store writes (and as the file reads back), its strings and numbers as given.
fn compacted(value: JsonText) -> JsonText {
    JsonText::new(&compact(&value)).unwrap_or(value)
}

/// `text` without whitespace between its tokens.
fn compact(text: &JsonText) -> String {
    let mut out = String::with_capacity(text.as_str().len());
    layout_into(&mut out, text.as_str(), None);
    out
}

/// Prints `text` and a newline.
fn print(text: &str) -> Result<(), Failure> {
    write_stdout(format!("{text}\n").as_bytes())
}

/// Writes `bytes` to stdout; a closed stdout (`kv list | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::io(format!("could not write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// The same commands on a store in Redis (`kv --redis URL --store NAME`), with the same output
/// and exit codes; there is no lock to wait for, so `--wait` changes nothing.
#[cfg(feature = "redis")]
mod redis {
    use kv_core::{ErrorKind, StorageErrorKind};
    use kv_native::Value;
    use kv_redis::{Error, Kv};

    use super::{
        Command, Failure, How, JsonText, pretty_object, print, print_text, read_object, set_in,
        status, ttl_text, write_stdout,
    };

    impl From<Error> for Failure {
        fn from(e: Error) -> Self {
            let status = match e.kind() {
                ErrorKind::Corrupt => status::CORRUPT,
                ErrorKind::LimitExceeded | ErrorKind::ReservedKey => status::USAGE,
                ErrorKind::Storage(StorageErrorKind::Locked) => status::LOCKED,
                _ if matches!(e, Error::Invalid(_) | Error::Value { .. }) => status::USAGE,
                _ => status::IO,
            };
            Self {
                status,
                message: e.to_string(),
            }
        }
    }

    fn for_key(key: &str, e: Error) -> Failure {
        let mut failure = Failure::from(e);
        failure.message = format!("key {}: {}", super::quoted(key), failure.message);
        failure
    }

    fn missing(key: &str, kv: &Kv) -> Failure {
        Failure {
            status: status::MISSING,
            message: format!(
                "no key {} in store {} at {}",
                super::quoted(key),
                super::quoted(kv.name()),
                kv.url()
            ),
        }
    }

    pub(super) fn run(url: &str, name: &str, command: Command, how: How) -> Result<(), Failure> {
        let kv = Kv::open(url, name)?;
        match command {
            Command::Get { key, default } => {
                match kv.get(&key).map(|v| JsonText::from_value(&v)).or(default) {
                    Some(text) => print_text(&text, how.raw),
                    None => Err(missing(&key, &kv)),
                }
            }
            Command::Set {
                key,
                value,
                ttl,
                if_absent,
            } => {
                let set = kv.transaction(|tx| {
                    set_in(tx, &key, value.clone(), ttl, if_absent)
                        .map_err(|e| for_key(&key, Error::Rejected(e)))
                })?;
                match set {
                    Some(set) => print(&set.to_string()),
                    None => Ok(()),
                }
            }
            Command::Touch { key, ttl } => {
                let now = kv.transaction(|tx| {
                    match ttl {
                        Some(ttl) => tx.touch_with_ttl(key.clone(), ttl),
                        None => tx.touch(key.clone()),
                    }
                    .map_err(|e| for_key(&key, Error::Rejected(e)))
                })?;
                print(&now.to_string())
            }
            Command::Ttl { key } => {
                let ttl = kv.transaction(|tx| Ok::<_, Failure>(tx.ttl(&key)))?;
                match ttl_text(ttl) {
                    Some(text) => print(&text),
                    None => Err(missing(&key, &kv)),
                }
            }
            Command::Expire { key, ttl } => {
                let exists = kv.transaction(|tx| {
                    tx.expire(&key, ttl)
                        .map_err(|e| for_key(&key, Error::Rejected(e)))
                })?;
                match exists {
                    true => Ok(()),
                    false => Err(missing(&key, &kv)),
                }
            }
            Command::Purge => {
                let removed = kv.transaction(|tx| Ok::<_, Failure>(tx.purge()))?;
                print(&removed.to_string())
            }
            Command::Delete { key } => match kv.delete(&key)? {
                true => Ok(()),
                false => Err(missing(&key, &kv)),
            },
            Command::List => print(&pretty_object(
                &kv.get_all()
                    .into_iter()
                    .map(|(key, value)| (key, JsonText::from(value)))
                    .collect(),
            )),
            Command::Clear => Ok(kv.clear()?),
            Command::Import { source } => {
                let entries = read_object(&source)?;
                kv.transaction(|tx| super::stage_import(tx, entries.clone()))
            }
            // Redis keeps no journal to fold.
            Command::Compact => Ok(()),
            // The store as a file would hold it: one JSON object, keys in byte order, with
            // the expiries first (`"\u0000expires"`, docs/design.md) if any key has one.
            Command::Export => {
                let keys: Vec<String> = kv.get_all().into_iter().map(|(k, _)| k).collect();
                // Each key's value and expiry read together, at one moment of the copy: a key
                // that expires meanwhile is left out rather than written without its expiry.
                let (all, expiries) = kv.transaction(|tx| {
                    let mut all = kv_native::Map::new();
                    let mut expiries = String::new();
                    for key in &keys {
                        let Some(value) = tx.get(key).cloned() else {
                            continue;
                        };
                        if let kv_native::Ttl::Left(left) = tx.ttl(key) {
                            let at = u128::from(tx.now_ms()) + left.as_millis();
                            let sep = if expiries.is_empty() { "" } else { "," };
                            expiries += &format!("{sep}{}:{at}", super::quoted(key));
                        }
                        all.insert(key.clone(), value);
                    }
                    Ok::<_, Failure>((all, expiries))
                })?;
                let mut text = Value::Object(all).to_string();
                if !expiries.is_empty() {
                    let rest = if text.len() > 2 { "," } else { "" };
                    text.replace_range(..1, &format!("{{\"\\u0000expires\":{{{expiries}}}{rest}"));
                }
                text.push('\n');
                write_stdout(text.as_bytes())
            }
        }
    }
}

#[cfg(not(feature = "redis"))]
mod redis {
    use super::{Command, Failure, How};

    pub(super) fn run(_: &str, _: &str, _: Command, _: How) -> Result<(), Failure> {
        Err(Failure::usage(
            "this kv was built without Redis: install it with `cargo install --path kv-native --features redis`",
        ))
    }
}
