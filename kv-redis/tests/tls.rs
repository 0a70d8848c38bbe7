//! `rediss://` (feature `tls`) against a real `redis-server` serving TLS with a certificate
//! from a private CA that the test makes with `openssl`.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used)]

mod server;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use kv_redis::Kv;
use serde_json::json;
use server::Server;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl did not run ({e}); `cargo xtask setup` installs it"));
    assert!(
        status.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it, in `dir`.
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=kv-redis test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"],
            &ec[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

#[test]
fn a_rediss_url_connects_over_tls_and_trusts_only_the_given_ca() {
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let tls_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let file = |name: &str| certs.path().join(name).to_str().unwrap().to_owned();
    let (cert, key, ca) = (file("server.crt"), file("server.key"), file("ca.crt"));
    let _server = Server::start_with(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "no",
        "--requirepass",
        "tls-pw",
    ]);
    let url = format!("rediss://default:tls-pw@127.0.0.1:{tls_port}/0");
    let ca_pem = std::fs::read(certs.path().join("ca.crt")).unwrap();
    let kv = Kv::options()
        .root_certificate(ca_pem.clone())
        .open(&url, "secure")
        .unwrap();
    kv.set("k", "over tls").unwrap();
    let other = Kv::options()
        .root_certificate(ca_pem)
        .open(&url, "secure")
        .unwrap();
    assert_eq!(other.get("k"), Some(json!("over tls")));

    // The system's roots do not include the test CA: refused, and the password never shown.
    let e = Kv::open(&url, "secure").unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains("tls-pw") && shown.contains(":***@"),
        "{shown}"
    );
}
