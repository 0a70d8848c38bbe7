//! `kv`: read and write a kv store file from the shell. Run `kv --help` for usage.
//!
//! The arguments are parsed by hand: eight commands and a few options do not justify a parser
//! dependency that every user of the library would also compile.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use kv_native::{Error, Kv, Lock, Rejected, Value};

const HELP: &str = "\
kv: a durable JSON key-value store in one file

USAGE:
    kv [OPTIONS] <COMMAND> [ARGS]

COMMANDS:
    get KEY [DEFAULT]     Print the value under KEY as JSON (DEFAULT if there is none)
    set KEY [VALUE|-]     Set KEY to VALUE (- reads it from stdin); with no VALUE, to the
                          current unix time
    touch KEY             Set KEY to the current unix time and print it
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

    Every write is durable when kv exits 0. A write takes the store's lock (the file
    PATH.lock next to it): a store another program has open is not touched, unless
    --wait is given. get, list and export take no lock and create nothing: they work
    while another program writes, and where you may not write.

EXIT STATUS:
    0  ok
    1  the key does not exist (get without DEFAULT, delete); stderr says which
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
    Get { key: String, default: Option<Value> },
    Set { key: String, value: Option<Value> },
    Touch { key: String },
    Delete { key: String },
    List,
    Clear,
    Import { source: String },
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
            Error::Rejected(r @ Rejected::Limit(_)) => Self {
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
    let value = |text: &str| -> Result<Value, Failure> {
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
            Ok(Value::String(text.to_owned()))
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
            arity(1, 2, "set KEY [VALUE|-]")?;
            let value = rest.get(1).map(|v| value(v)).transpose()?;
            Command::Set { key: key(), value }
        }
        "touch" => {
            arity(1, 1, "touch KEY")?;
            Command::Touch { key: key() }
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
    Ok(Parsed::Run {
        target,
        command,
        how,
    })
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
fn parse_value(text: &str) -> Result<Value, Failure> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(e) if text.trim_start().starts_with(['{', '[', '"']) => Err(Failure::usage(format!(
            "VALUE looks like JSON but is not valid JSON ({e}); use --string to store it as text"
        ))),
        Err(_) => Ok(Value::String(text.to_owned())),
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
            match kv.get(&key).or(default) {
                Some(Value::String(text)) if how.raw => print(&text),
                Some(value) => print_json(&value, false),
                None => Err(Failure::missing(&key, kv.path(), kv.exists())),
            }
        }
        Command::Set { key, value } => {
            let kv = write()?;
            match value {
                Some(value) => kv.set(key.clone(), value),
                None => kv.touch(key.clone()).map(drop),
            }
            .map_err(|e| Failure::for_key(&key, e))
        }
        Command::Touch { key } => {
            let now = write()?
                .touch(key.clone())
                .map_err(|e| Failure::for_key(&key, e))?;
            print(&now.to_string())
        }
        Command::Delete { key } => {
            let kv = write()?;
            match kv.delete(&key)? {
                true => Ok(()),
                false => Err(Failure::missing(&key, kv.path(), true)),
            }
        }
        Command::List => print_json(&Value::Object(Kv::open_read_only(file)?.get_all()), true),
        Command::Clear => Ok(write()?.clear()?),
        Command::Import { source } => {
            let entries = read_object(&source)?;
            write()?.transaction(|tx| {
                for (key, value) in entries {
                    tx.set(key.clone(), value)
                        .map_err(|e| Failure::for_key(&key, e))?;
                }
                Ok(())
            })
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
fn read_object(source: &str) -> Result<kv_native::Map<String, Value>, Failure> {
    let text = if source == "-" {
        read_stdin()?
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Failure::io(format!("could not read {source}: {e}")))?
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::usage(format!(
            "{source} does not hold a JSON object"
        ))),
        Err(e) => Err(Failure::usage(format!("{source} is not valid JSON: {e}"))),
    }
}

fn print_json(value: &Value, pretty: bool) -> Result<(), Failure> {
    // `{:#}` is serde_json's pretty form; a `Value` always serializes.
    print(&if pretty {
        format!("{value:#}")
    } else {
        value.to_string()
    })
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

    use super::{Command, Failure, How, print, print_json, read_object, status, write_stdout};

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
            Command::Get { key, default } => match kv.get(&key).or(default) {
                Some(Value::String(text)) if how.raw => print(&text),
                Some(value) => print_json(&value, false),
                None => Err(missing(&key, &kv)),
            },
            Command::Set { key, value } => match value {
                Some(value) => kv.set(key.clone(), value),
                None => kv.touch(key.clone()).map(drop),
            }
            .map_err(|e| for_key(&key, e)),
            Command::Touch { key } => {
                let now = kv.touch(key.clone()).map_err(|e| for_key(&key, e))?;
                print(&now.to_string())
            }
            Command::Delete { key } => match kv.delete(&key)? {
                true => Ok(()),
                false => Err(missing(&key, &kv)),
            },
            Command::List => print_json(&Value::Object(kv.get_all()), true),
            Command::Clear => Ok(kv.clear()?),
            Command::Import { source } => {
                let entries = read_object(&source)?;
                kv.transaction(|tx| {
                    for (key, value) in &entries {
                        tx.set(key.clone(), value.clone())
                            .map_err(|e| for_key(key, Error::Rejected(e)))?;
                    }
                    Ok::<_, Failure>(())
                })
            }
            // Redis keeps no journal to fold.
            Command::Compact => Ok(()),
            // The store as a file would hold it: one JSON object, keys in byte order.
            Command::Export => {
                let mut text = Value::Object(kv.get_all()).to_string();
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
