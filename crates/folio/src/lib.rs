//! Library side of the `folio` command-line tool.
//!
//! The binary (`src/main.rs`) only parses arguments; everything it does lives
//! here as plain functions over a repository root so it can be tested
//! without spawning processes.

pub mod demo;
pub mod org;
pub mod release;
pub mod up;
