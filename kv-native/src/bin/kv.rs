//! `kv`: read and write a kv store file from the shell. Run `kv --help` for usage.
//!
//! The arguments are parsed by hand: eight commands and one option do not justify a parser
//! dependency that every user of the library would also compile.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use kv_native::{Error, Kv, Value};

const HELP: &str = "\
kv: a durable JSON key-value store in one file

USAGE:
    kv [--file PATH] <COMMAND> [ARGS]

COMMANDS:
    get KEY [DEFAULT]     Print the value under KEY as JSON (DEFAULT if there is none)
    set KEY [VALUE]       Set KEY to VALUE; with no VALUE, to the current unix time
    touch KEY             Set KEY to the current unix time and print it
    delete KEY            Remove KEY
    list                  Print the whole store as a JSON object
    clear                 Remove every key
    import FILE|-         Merge a JSON object from FILE (or stdin) in one write
    export                Print the whole store as its file holds it once compacted
    compact               Fold the journal into the store file

OPTIONS:
    -f, --file PATH       The store file. Default: $KV_FILE, else ./kv.json
    -s, --string          Take VALUE and DEFAULT as text, never as JSON
    -h, --help            Print this help
    -V, --version         Print the version

VALUES:
    VALUE is read as JSON: 42, true, null, [1,2], {\"a\":1}, \"quoted text\".
    Text that is not JSON is taken as a string, so `kv set cmd ping` stores \"ping\",
    unless it starts with {, [ or \" (then it is JSON with a mistake, and an error).
    Use --string for text that looks like JSON: `kv set -s version 42` stores \"42\".

    Every write is durable when kv exits 0. Opening takes the store's lock
    (the file PATH.lock next to it); a store another program has open is not touched.

EXIT STATUS:
    0  ok
    1  the key does not exist (get without DEFAULT, delete)
    2  usage: bad arguments, a VALUE that is not valid JSON, a write over the limits
    3  the store is locked by another program
    4  the store file is corrupt (it is left exactly as it is)
    5  any other I/O error

EXAMPLES:
    kv set last_command ping
    kv get last_command                  # \"ping\"
    kv get retries 0                     # 0 if unset
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
    Run { file: PathBuf, command: Command },
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

    fn usage(message: impl Into<String>) -> Self {
        Self {
            status: status::USAGE,
            message: format!("{}\nRun `kv --help` for usage.", message.into()),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match e {
            Error::Locked { .. } => status::LOCKED,
            Error::Corrupt { .. } => status::CORRUPT,
            Error::Rejected(_) | Error::Value { .. } => status::USAGE,
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
        Parsed::Help => print(HELP.trim_end()).map(|()| true),
        Parsed::Version => print(&format!("kv {}", env!("CARGO_PKG_VERSION"))).map(|()| true),
        Parsed::Run { file, command } => run(file, command),
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(status::MISSING),
        Err(failure) => {
            eprintln!("kv: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

fn parse(args: impl Iterator<Item = OsString>) -> Result<Parsed, Failure> {
    let mut file = None;
    let mut as_string = false;
    let mut positional = Vec::new();
    let mut options_done = false;
    let mut args = args.map(|a| {
        a.into_string()
            .map_err(|a| Failure::usage(format!("argument is not UTF-8: {}", a.display())))
    });
    while let Some(arg) = args.next() {
        let arg = arg?;
        if options_done || !arg.starts_with('-') || arg == "-" {
            positional.push(arg);
            continue;
        }
        match arg.as_str() {
            "--" => options_done = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "-s" | "--string" => as_string = true,
            "-f" | "--file" => match args.next() {
                Some(path) => file = Some(PathBuf::from(path?)),
                None => return Err(Failure::usage(format!("{arg} needs a PATH"))),
            },
            _ => match arg.strip_prefix("--file=") {
                Some(path) => file = Some(PathBuf::from(path)),
                None => return Err(Failure::usage(format!("unknown option {arg}"))),
            },
        }
    }
    let file = file
        .or_else(|| std::env::var_os("KV_FILE").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("kv.json"));
    let value = |text: &str| -> Result<Value, Failure> {
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
            arity(1, 2, "set KEY [VALUE]")?;
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
    Ok(Parsed::Run { file, command })
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

/// Runs `command` on the store at `file`; `Ok(false)` when the key it needs does not exist.
fn run(file: PathBuf, command: Command) -> Result<bool, Failure> {
    let kv = Kv::open(&file)?;
    match command {
        Command::Get { key, default } => match kv.get(&key).or(default) {
            Some(value) => print_json(&value, false).map(|()| true),
            None => Ok(false),
        },
        Command::Set { key, value } => {
            match value {
                Some(value) => kv.set(key, value)?,
                None => drop(kv.touch(key)?),
            }
            Ok(true)
        }
        Command::Touch { key } => print(&kv.touch(key)?.to_string()).map(|()| true),
        Command::Delete { key } => Ok(kv.delete(&key)?),
        Command::List => print_json(&Value::Object(kv.get_all()), true).map(|()| true),
        Command::Clear => kv.clear().map(|()| true).map_err(Failure::from),
        Command::Import { source } => {
            let entries = read_object(&source)?;
            kv.set_many(entries)?;
            Ok(true)
        }
        Command::Export => write_stdout(&kv.export()).map(|()| true),
        Command::Compact => kv.compact().map(|()| true).map_err(Failure::from),
    }
}

/// The JSON object in `source` (a path, or `-` for stdin).
fn read_object(source: &str) -> Result<kv_native::Map<String, Value>, Failure> {
    let mut text = String::new();
    let read = if source == "-" {
        io::stdin().read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(source).map(|t| text = t)
    };
    read.map_err(|e| Failure::io(format!("could not read {source}: {e}")))?;
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
