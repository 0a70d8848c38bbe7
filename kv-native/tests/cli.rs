//! The `kv` command, run as a user's shell would: output, exit statuses, files.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use kv_native::Kv;
use tempfile::TempDir;

fn kv(dir: &Path, args: &[&str]) -> Output {
    kv_with_stdin(dir, args, "")
}

fn kv_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(args)
        .current_dir(dir)
        .env_remove("KV_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn status(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn dir() -> TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn set_then_get_prints_the_value_as_json() {
    let d = dir();
    assert_eq!(status(&kv(d.path(), &["set", "last_command", "ping"])), 0);
    let out = kv(d.path(), &["get", "last_command"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (0, "\"ping\"\n"));
    assert_eq!(
        fs::read_to_string(d.path().join("kv.json")).unwrap(),
        "{\"last_command\":\"ping\"}\n"
    );
}

#[test]
fn values_are_json_and_plain_text_is_a_string() {
    let d = dir();
    let cases = [
        (&["set", "k", "42"][..], "42"),
        (&["set", "k", "true"], "true"),
        (&["set", "k", "{\"a\": [1, null]}"], "{\"a\":[1,null]}"),
        (&["set", "k", "\"quoted\""], "\"quoted\""),
        (&["set", "k", "ping"], "\"ping\""),
        (&["set", "k", "hello world"], "\"hello world\""),
        (&["set", "k", "0123"], "\"0123\""),
        (&["set", "--string", "k", "42"], "\"42\""),
        (&["set", "-s", "k", "{not json"], "\"{not json\""),
    ];
    for (args, expected) in cases {
        assert_eq!(status(&kv(d.path(), args)), 0, "{args:?}");
        let out = kv(d.path(), &["get", "k"]);
        assert_eq!(stdout(&out).trim_end(), expected, "{args:?}");
    }
}

#[test]
fn text_that_starts_like_json_but_is_not_is_a_usage_error() {
    let d = dir();
    for value in ["{\"a\":", "[1, 2", "\"unterminated"] {
        let out = kv(d.path(), &["set", "k", value]);
        assert_eq!(status(&out), 2, "{value}");
        assert!(stderr(&out).contains("--string"), "{}", stderr(&out));
    }
    assert!(!d.path().join("kv.json").exists());
}

#[test]
fn a_missing_key_exits_1_unless_a_default_is_given() {
    let d = dir();
    let out = kv(d.path(), &["get", "absent"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (1, ""));
    let out = kv(d.path(), &["get", "absent", "0"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (0, "0\n"));
    assert_eq!(status(&kv(d.path(), &["delete", "absent"])), 1);
}

#[test]
fn delete_removes_the_key_and_exits_0() {
    let d = dir();
    kv(d.path(), &["set", "k", "1"]);
    assert_eq!(status(&kv(d.path(), &["delete", "k"])), 0);
    assert_eq!(status(&kv(d.path(), &["get", "k"])), 1);
}

#[test]
fn set_without_a_value_and_touch_store_the_unix_time() {
    let d = dir();
    assert_eq!(status(&kv(d.path(), &["set", "seen:1"])), 0);
    let touched = kv(d.path(), &["touch", "seen:2"]);
    let printed: u64 = stdout(&touched).trim().parse().unwrap();
    let kv_store = Kv::open(d.path().join("kv.json")).unwrap();
    assert_eq!(kv_store.get("seen:2"), Some(printed.into()));
    assert!(kv_store.get("seen:1").unwrap().as_u64().unwrap() > 1_700_000_000);
}

#[test]
fn list_prints_the_whole_store_and_clear_empties_it() {
    let d = dir();
    kv(d.path(), &["set", "b", "2"]);
    kv(d.path(), &["set", "a", "[1]"]);
    let out = kv(d.path(), &["list"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed, serde_json::json!({"a": [1], "b": 2}));
    assert_eq!(status(&kv(d.path(), &["clear"])), 0);
    assert_eq!(stdout(&kv(d.path(), &["list"])).trim(), "{}");
}

#[test]
fn import_merges_an_object_and_export_prints_the_file_as_stored() {
    let d = dir();
    kv(d.path(), &["set", "kept", "1"]);
    let out = kv_with_stdin(d.path(), &["import", "-"], "{\"a\": 1, \"kept\": 2}");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    fs::write(d.path().join("more.json"), "{\"b\": [true]}").unwrap();
    assert_eq!(status(&kv(d.path(), &["import", "more.json"])), 0);
    let exported = kv(d.path(), &["export"]);
    assert_eq!(exported.stdout, fs::read(d.path().join("kv.json")).unwrap());
    assert_eq!(stdout(&exported), "{\"a\":1,\"b\":[true],\"kept\":2}\n");
}

#[test]
fn importing_anything_but_an_object_is_a_usage_error_and_writes_nothing() {
    let d = dir();
    kv(d.path(), &["set", "kept", "1"]);
    for input in ["[1, 2]", "{\"a\":", "42"] {
        let out = kv_with_stdin(d.path(), &["import", "-"], input);
        assert_eq!(status(&out), 2, "{input}");
    }
    assert_eq!(status(&kv(d.path(), &["import", "no-such-file.json"])), 5);
    assert_eq!(stdout(&kv(d.path(), &["export"])), "{\"kept\":1}\n");
}

#[test]
fn the_file_comes_from_the_option_then_kv_file_then_the_current_directory() {
    let d = dir();
    kv(d.path(), &["--file", "opt.json", "set", "k", "1"]);
    kv(d.path(), &["--file=eq.json", "set", "k", "1"]);
    let out = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(["set", "k", "1"])
        .current_dir(d.path())
        .env("KV_FILE", "env.json")
        .output()
        .unwrap();
    assert_eq!(status(&out), 0);
    kv(d.path(), &["set", "k", "1"]);
    for name in ["opt.json", "eq.json", "env.json", "kv.json"] {
        assert!(d.path().join(name).exists(), "{name}");
    }
}

#[test]
fn bad_usage_exits_2_with_a_message() {
    let d = dir();
    for args in [
        &[][..],
        &["frobnicate"],
        &["get"],
        &["get", "a", "b", "c"],
        &["list", "extra"],
        &["--file"],
        &["--bogus", "list"],
    ] {
        let out = kv(d.path(), args);
        assert_eq!(status(&out), 2, "{args:?}");
        assert!(
            stderr(&out).starts_with("kv: "),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn help_lists_the_commands_exit_statuses_and_examples() {
    let out = kv(dir().path(), &["--help"]);
    assert_eq!(status(&out), 0);
    let help = stdout(&out);
    for needle in [
        "get KEY",
        "import FILE|-",
        "ttl KEY",
        "expire KEY DURATION|none",
        "purge",
        "--ttl DURATION",
        "--if-absent",
        "EXIT STATUS",
        "3  the store is locked",
        "EXAMPLES",
    ] {
        assert!(help.contains(needle), "{needle}");
    }
}

#[test]
fn a_store_another_process_holds_exits_3_and_names_the_file() {
    let d = dir();
    let holder = Kv::open(d.path().join("kv.json")).unwrap();
    holder.set("k", 1).unwrap();
    let out = kv(d.path(), &["set", "k", "2"]);
    assert_eq!(status(&out), 3);
    assert!(
        stderr(&out).contains("kv.json is locked"),
        "{}",
        stderr(&out)
    );
    assert_eq!(holder.get("k"), Some(1.into()));
    drop(holder);
    assert_eq!(status(&kv(d.path(), &["set", "k", "2"])), 0);
}

#[test]
fn a_corrupt_store_exits_4_and_is_left_byte_identical() {
    let d = dir();
    let path = d.path().join("kv.json");
    fs::write(&path, "{\"a\": 1, \"b\"").unwrap();
    for args in [&["get", "a"][..], &["set", "c", "3"], &["clear"]] {
        let out = kv(d.path(), args);
        assert_eq!(status(&out), 4, "{args:?}");
        assert!(stderr(&out).contains("kv.json"), "{}", stderr(&out));
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\": 1, \"b\"");
}

#[test]
fn a_store_that_cannot_be_created_exits_5() {
    let d = dir();
    fs::write(d.path().join("not-a-dir"), "").unwrap();
    let out = kv(d.path(), &["--file", "not-a-dir/kv.json", "set", "k", "1"]);
    assert_eq!(status(&out), 5, "{}", stderr(&out));
}

#[test]
fn numbers_print_and_stay_in_the_file_as_written() {
    let d = dir();
    let path = d.path().join("kv.json");
    let file = r#"{"big": 18446744073709551616, "neg": -9223372036854775809, "e30": 1000000000000000000000000000000, "one": 1.0}"#;
    fs::write(&path, file).unwrap();
    let out = kv(d.path(), &["get", "big"]);
    assert_eq!(stdout(&out), "18446744073709551616\n");
    assert!(stdout(&kv(d.path(), &["list"])).contains("\"one\": 1.0"));
    assert_eq!(status(&kv(d.path(), &["set", "other", "1"])), 0);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\"big\":18446744073709551616,\"e30\":1000000000000000000000000000000,\"neg\":-9223372036854775809,\"one\":1.0,\"other\":1}\n"
    );
}

#[test]
fn forty_writers_at_once_with_wait_all_write() {
    let d = dir();
    let children: Vec<_> = (0..40)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_kv"))
                .args(["--wait", "set", &format!("k{i}"), &i.to_string()])
                .current_dir(d.path())
                .env_remove("KV_FILE")
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(status(&out), 0, "{}", stderr(&out));
    }
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&kv(d.path(), &["list"]))).unwrap();
    assert_eq!(listed.as_object().unwrap().len(), 40);
}

#[test]
fn a_bounded_wait_gives_up_with_exit_3() {
    let d = dir();
    let _holder = Kv::open(d.path().join("kv.json")).unwrap();
    let out = kv(d.path(), &["--wait=0.1", "set", "k", "1"]);
    assert_eq!(status(&out), 3);
    assert!(stderr(&out).contains("waited 0.1 s"), "{}", stderr(&out));
    assert_eq!(status(&kv(d.path(), &["--wait=soon", "set", "k", "1"])), 2);
}

#[test]
fn reads_work_while_another_program_holds_the_store() {
    let d = dir();
    let holder = Kv::open(d.path().join("kv.json")).unwrap();
    holder.set("k", 1).unwrap();
    let out = kv(d.path(), &["get", "k"]);
    assert_eq!(
        (status(&out), stdout(&out).as_str()),
        (0, "1\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&kv(d.path(), &["list"])), 0);
    assert_eq!(stdout(&kv(d.path(), &["export"])), "{\"k\":1}\n");
}

#[test]
fn a_read_creates_no_directory_and_no_lock_file() {
    let d = dir();
    let out = kv(d.path(), &["--file", "typo/kv.json", "get", "k"]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));
    assert_eq!(
        stdout(&kv(d.path(), &["--file", "typo/kv.json", "list"])),
        "{}\n"
    );
    assert!(!d.path().join("typo").exists());
    fs::write(d.path().join("kv.json"), "{\"a\": ").unwrap();
    assert_eq!(status(&kv(d.path(), &["get", "a"])), 4);
    assert!(!d.path().join("kv.json.lock").exists());
}

#[test]
#[cfg(unix)]
fn reads_work_in_a_directory_the_user_cannot_write() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let d = dir();
    kv(d.path(), &["set", "k", "1"]);
    let path = d.path().join("kv.json");
    // The store is the file and its journal: a reader needs both.
    for file in [&path, &d.path().join("kv.json.journal")] {
        if file.exists() {
            fs::set_permissions(file, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kv"));
    command
        .args(["get", "k"])
        .current_dir(d.path())
        .env_remove("KV_FILE");
    // Root writes anywhere: read as nobody instead.
    if fs::metadata(&path).unwrap().uid() == 0 {
        command.uid(65534).gid(65534);
    }
    let out = command.output().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        (status(&out), stdout(&out).as_str()),
        (0, "1\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn set_with_a_dash_reads_the_value_from_stdin() {
    let d = dir();
    let long = "x".repeat(300 * 1024);
    let out = kv_with_stdin(d.path(), &["set", "-s", "long", "-"], &format!("{long}\n"));
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let kv_store = Kv::open(d.path().join("kv.json")).unwrap();
    assert_eq!(kv_store.get("long"), Some(long.into()));
    drop(kv_store);
    kv_with_stdin(d.path(), &["set", "obj", "-"], "{\"a\": [1]}\n");
    assert_eq!(stdout(&kv(d.path(), &["get", "obj"])), "{\"a\":[1]}\n");
}

#[test]
fn negative_numbers_are_values_not_options() {
    let d = dir();
    assert_eq!(status(&kv(d.path(), &["set", "n", "-5"])), 0);
    assert_eq!(status(&kv(d.path(), &["set", "é", "ü"])), 0);
    assert_eq!(stdout(&kv(d.path(), &["get", "n"])), "-5\n");
    assert_eq!(stdout(&kv(d.path(), &["get", "missing", "-1"])), "-1\n");
    assert_eq!(
        stdout(&kv(d.path(), &["get", "missing", "-.5"])),
        "\"-.5\"\n"
    );
}

#[test]
fn raw_prints_a_string_as_its_text() {
    let d = dir();
    kv(d.path(), &["set", "s", "\"say \\\"hi\\\"\\nbye\""]);
    kv(d.path(), &["set", "n", "[1]"]);
    assert_eq!(
        stdout(&kv(d.path(), &["get", "--raw", "s"])),
        "say \"hi\"\nbye\n"
    );
    assert_eq!(stdout(&kv(d.path(), &["-r", "get", "n"])), "[1]\n");
}

#[test]
fn a_missing_key_is_named_on_stderr() {
    let d = dir();
    for command in ["get", "delete"] {
        let out = kv(d.path(), &[command, "absent"]);
        assert_eq!(status(&out), 1);
        assert!(
            stderr(&out).contains("no key \"absent\""),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn limit_errors_name_the_key_also_in_an_import() {
    let d = dir();
    let huge = format!("\"{}\"", "x".repeat(1024 * 1024 + 1));
    let out = kv_with_stdin(d.path(), &["set", "big", "-"], &huge);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("cannot set \"big\": encoded value"),
        "{}",
        stderr(&out)
    );
    let import = format!("{{\"small\": 1, \"huge\": {huge}}}");
    let out = kv_with_stdin(d.path(), &["import", "-"], &import);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("cannot set \"huge\""),
        "{}",
        stderr(&out)
    );
    assert!(!d.path().join("kv.json").exists());
}

#[test]
fn a_file_path_ending_in_a_separator_is_an_error() {
    let d = dir();
    let out = kv(d.path(), &["--file", "newdir/", "set", "k", "1"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("names a directory"),
        "{}",
        stderr(&out)
    );
    assert!(!d.path().join("newdir").exists());
}

#[test]
#[cfg(unix)]
fn a_read_only_store_file_is_refused_for_writes() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir();
    kv(d.path(), &["set", "k", "1"]);
    let path = d.path().join("kv.json");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let out = kv(d.path(), &["set", "k", "2"]);
    assert_eq!(status(&out), 5);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"k\":1}\n");
}

/// A store file as docs/design.md draws it (what Python's aiokv writes), with one key that
/// expired long ago, one that expires in the year 287,396 and one without an expiry.
const EXPIRING_FILE: &str = "{\"\\u0000expires\": {\"gone\": 1000, \"later\": 9007199254740991}, \
     \"gone\": \"stale\", \"later\": 2, \"plain\": 1}\n";

#[test]
fn an_expired_key_is_absent_for_get_list_export_and_ttl() {
    let d = dir();
    fs::write(d.path().join("kv.json"), EXPIRING_FILE).unwrap();
    let out = kv(d.path(), &["get", "gone"]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("no key \"gone\""), "{}", stderr(&out));
    assert_eq!(stdout(&kv(d.path(), &["get", "gone", "0"])), "0\n");
    assert_eq!(stdout(&kv(d.path(), &["get", "later"])), "2\n");
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&kv(d.path(), &["list"]))).unwrap();
    assert_eq!(listed, serde_json::json!({"later": 2, "plain": 1}));
    assert_eq!(
        stdout(&kv(d.path(), &["export"])),
        "{\"\\u0000expires\":{\"later\":9007199254740991},\"later\":2,\"plain\":1}\n"
    );
    let out = kv(d.path(), &["ttl", "gone"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (1, ""));
    assert_eq!(stdout(&kv(d.path(), &["ttl", "plain"])), "null\n");
    let later: f64 = stdout(&kv(d.path(), &["ttl", "later"]))
        .trim()
        .parse()
        .unwrap();
    assert!(later > 9.0e12, "{later}");
    // An expired key may be claimed again; purge removes what has expired, and the file
    // is plain JSON again once no key has an expiry.
    let out = kv(d.path(), &["set", "--if-absent", "gone", "new"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (0, "true\n"));
    assert_eq!(status(&kv(d.path(), &["delete", "gone"])), 0);
    assert_eq!(stdout(&kv(d.path(), &["purge"])), "0\n");
    assert_eq!(status(&kv(d.path(), &["expire", "later", "none"])), 0);
    assert_eq!(
        fs::read_to_string(d.path().join("kv.json")).unwrap(),
        "{\"later\":2,\"plain\":1}\n"
    );
}

#[test]
fn purge_prints_how_many_expired_keys_it_removed() {
    let d = dir();
    fs::write(
        d.path().join("kv.json"),
        "{\"\\u0000expires\": {\"a\": 1000, \"b\": 2000, \"c\": 9007199254740991}, \
         \"a\": 1, \"b\": 2, \"c\": 3}",
    )
    .unwrap();
    let out = kv(d.path(), &["purge"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (0, "2\n"));
    assert_eq!(stdout(&kv(d.path(), &["purge"])), "0\n");
    let stored = fs::read_to_string(d.path().join("kv.json")).unwrap();
    assert_eq!(
        stored,
        "{\"\\u0000expires\":{\"c\":9007199254740991},\"c\":3}\n"
    );
}

fn ttl_of(d: &Path, key: &str) -> f64 {
    let out = kv(d, &["ttl", key]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    stdout(&out).trim().parse().unwrap()
}

#[test]
fn set_and_touch_take_a_ttl_and_ttl_prints_the_seconds_left() {
    let d = dir();
    assert_eq!(status(&kv(d.path(), &["set", "--ttl", "1h", "a", "1"])), 0);
    let left = ttl_of(d.path(), "a");
    assert!(left > 3590.0 && left <= 3600.0, "{left}");
    assert_eq!(stdout(&kv(d.path(), &["get", "a"])), "1\n");
    // Every spelling of DURATION.
    for (duration, seconds) in [
        ("90", 90.0),
        ("1.5", 1.5),
        ("1500ms", 1.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("30d", 2_592_000.0),
        ("0.5d", 43_200.0),
    ] {
        let out = kv(d.path(), &["set", "--ttl", duration, "k", "v"]);
        assert_eq!(status(&out), 0, "{duration}: {}", stderr(&out));
        let left = ttl_of(d.path(), "k");
        assert!(
            left > seconds - 10.0 && left <= seconds,
            "{duration}: {left}"
        );
    }
    let out = kv(d.path(), &["touch", "--ttl=30d", "seen:1"]);
    let now: u64 = stdout(&out).trim().parse().unwrap();
    assert_eq!(
        stdout(&kv(d.path(), &["get", "seen:1"])),
        format!("{now}\n")
    );
    assert!(ttl_of(d.path(), "seen:1") > 2_591_000.0);
    // A set without a VALUE takes a ttl too; a set without --ttl removes the expiry.
    assert_eq!(status(&kv(d.path(), &["set", "-t", "10m", "seen:2"])), 0);
    assert!(ttl_of(d.path(), "seen:2") <= 600.0);
    assert_eq!(status(&kv(d.path(), &["set", "seen:2", "x"])), 0);
    assert_eq!(stdout(&kv(d.path(), &["ttl", "seen:2"])), "null\n");
    let out = kv(d.path(), &["ttl", "missing"]);
    assert_eq!(status(&out), 1);
    assert!(
        stderr(&out).contains("no key \"missing\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn expire_sets_or_removes_an_expiry_and_exits_1_for_a_missing_key() {
    let d = dir();
    assert_eq!(status(&kv(d.path(), &["set", "a", "1"])), 0);
    assert_eq!(status(&kv(d.path(), &["expire", "a", "2h"])), 0);
    let left = ttl_of(d.path(), "a");
    assert!(left > 7190.0 && left <= 7200.0, "{left}");
    assert_eq!(status(&kv(d.path(), &["expire", "a", "none"])), 0);
    assert_eq!(stdout(&kv(d.path(), &["ttl", "a"])), "null\n");
    let out = kv(d.path(), &["expire", "b", "5"]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("no key \"b\""), "{}", stderr(&out));
    assert!(
        !fs::read_to_string(d.path().join("kv.json"))
            .unwrap()
            .contains("\"b\"")
    );
}

#[test]
fn set_if_absent_prints_whether_it_set_the_key() {
    let d = dir();
    let out = kv(d.path(), &["set", "--if-absent", "seen:1"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (0, "true\n"));
    let first = stdout(&kv(d.path(), &["get", "seen:1"]));
    let out = kv(d.path(), &["set", "--if-absent", "seen:1", "other"]);
    assert_eq!((status(&out), stdout(&out).as_str()), (0, "false\n"));
    assert_eq!(stdout(&kv(d.path(), &["get", "seen:1"])), first);
    let out = kv(
        d.path(),
        &["set", "--if-absent", "--ttl", "1h", "lock", "me"],
    );
    assert_eq!(stdout(&out), "true\n");
    assert!(ttl_of(d.path(), "lock") <= 3600.0);
    assert_eq!(stdout(&kv(d.path(), &["get", "lock"])), "\"me\"\n");
}

#[test]
fn a_bad_duration_exits_2_naming_it_and_writes_nothing() {
    let d = dir();
    assert_eq!(status(&kv(d.path(), &["set", "a", "1"])), 0);
    let before = fs::read(d.path().join("kv.json")).unwrap();
    for args in [
        &["set", "--ttl", "0", "a", "2"][..],
        &["set", "--ttl", "-5", "a", "2"],
        &["set", "--ttl", "0s", "a", "2"],
        &["set", "--ttl", "0.0001", "a", "2"],
        &["set", "--ttl", "5y", "a", "2"],
        &["set", "--ttl", "1.2.3", "a", "2"],
        &["set", "--ttl", "ms", "a", "2"],
        &["set", "--ttl", "1e3", "a", "2"],
        &["set", "--ttl", "9999999999999d", "a", "2"],
        &["set", "--ttl=", "a", "2"],
        &["touch", "--ttl", "-1h", "a"],
        &["expire", "a", "-3"],
        &["expire", "a", "never"],
        &["expire", "a", "0"],
    ] {
        let out = kv(d.path(), args);
        assert_eq!(status(&out), 2, "{args:?}");
        let bad = args
            .iter()
            .find(|a| !["set", "touch", "expire", "--ttl", "a", "2"].contains(a));
        let bad = bad.map_or("--ttl", |b| b.strip_prefix("--ttl=").unwrap_or(b));
        assert!(stderr(&out).contains(bad), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("DURATION"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(fs::read(d.path().join("kv.json")).unwrap(), before);
    assert_eq!(stdout(&kv(d.path(), &["ttl", "a"])), "null\n");
    // --ttl and --if-absent go only where they mean something.
    for args in [
        &["get", "--ttl", "5", "a"][..],
        &["delete", "--if-absent", "a"],
    ] {
        assert_eq!(status(&kv(d.path(), args)), 2, "{args:?}");
    }
}

#[test]
fn an_export_with_expiries_imports_into_another_store_keeping_them() {
    let d = dir();
    assert_eq!(
        status(&kv(d.path(), &["set", "--ttl", "1h", "timed", "1"])),
        0
    );
    assert_eq!(status(&kv(d.path(), &["set", "plain", "2"])), 0);
    let exported = stdout(&kv(d.path(), &["export"]));
    assert!(
        exported.starts_with("{\"\\u0000expires\":{\"timed\":"),
        "{exported}"
    );
    // An expiry already past when the backup is restored: that key is left out.
    let stale = exported.replacen("{\"timed\":", "{\"gone\":1000,\"timed\":", 1);
    let stale = stale.replacen("\"plain\":2", "\"gone\":3,\"plain\":2", 1);
    let out = kv_with_stdin(
        d.path(),
        &["--file", "restored.json", "import", "-"],
        &stale,
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let restored = |args: &[&str]| kv(d.path(), &[&["--file", "restored.json"], args].concat());
    assert_eq!(stdout(&restored(&["get", "timed"])), "1\n");
    assert_eq!(stdout(&restored(&["ttl", "plain"])), "null\n");
    let left: f64 = stdout(&restored(&["ttl", "timed"])).trim().parse().unwrap();
    assert!(left > 3590.0 && left <= 3600.0, "{left}");
    assert_eq!(status(&restored(&["get", "gone"])), 1);
    // Any other reserved key is refused, and nothing is imported.
    let out = kv_with_stdin(
        d.path(),
        &["--file", "other.json", "import", "-"],
        "{\"\\u0000meta\":1,\"a\":1}",
    );
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert_eq!(
        status(&kv(d.path(), &["--file", "other.json", "get", "a"])),
        1
    );
}
