//! Child processes (servers a test starts) that cannot outlive the test.

use std::{
    ffi::OsStr,
    net::TcpListener,
    process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio},
};

/// A server process tied to this one: dropping the value, or this process
/// dying (a test killed on timeout), stops it.
#[derive(Debug)]
pub struct Tied {
    child: Child,
    /// Closing it (drop, or this process dying) stops the server.
    lifeline: Option<ChildStdin>,
}

impl Tied {
    /// Starts `program args…` with its stderr piped (see [`Tied::stderr`])
    /// and its stdout discarded.
    pub fn spawn<I, S>(program: impl AsRef<OsStr>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::spawn_inner(program.as_ref(), args, Stdio::null())
    }

    fn spawn_inner<I, S>(program: &OsStr, args: I, stdout: Stdio) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        // A shell holds the lifeline: when our end of its stdin closes it
        // kills the server. Only the server keeps the stderr pipe, so its
        // end shows as the pipe's end.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(concat!(
                r#""$0" "$@" & pid=$!; "#,
                r#"exec 2>/dev/null 3<&0 0</dev/null; "#,
                r#"{ read -r _ <&3; kill "$pid"; } & "#,
                r#"wait "$pid""#
            ))
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let lifeline = child.stdin.take();
        Self { child, lifeline }
    }

    /// [`Tied::spawn`], with stdout piped too (see [`Tied::stdout`]).
    pub fn spawn_with_stdout<I, S>(program: impl AsRef<OsStr>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::spawn_inner(program.as_ref(), args, Stdio::piped())
    }

    /// The server's stdout (once; only with [`Tied::spawn_with_stdout`]).
    pub fn stdout(&mut self) -> ChildStdout {
        self.child
            .stdout
            .take()
            .expect("stdout piped and taken once")
    }

    /// The first line the server prints (its port or address, by the
    /// convention of the test kit's servers), waiting up to 30 s; the rest
    /// of stdout is drained so the server never blocks on it.
    pub fn first_line(&mut self) -> Option<String> {
        let stdout = self.stdout();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
            let first = lines.next().and_then(Result::ok);
            let _ = tx.send(first);
            for _ in lines {}
        });
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .ok()
            .flatten()
            .map(|line| line.trim().to_owned())
    }

    /// The server's stderr (once).
    pub fn stderr(&mut self) -> ChildStderr {
        self.child.stderr.take().expect("stderr taken once")
    }

    /// Whether the server (or its shell) has already exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Tied {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.child.wait();
    }
}

/// A loopback port free right now, for servers that cannot pick their own.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
