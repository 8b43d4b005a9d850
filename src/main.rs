//! The `phrasewise` binary: everything lives in the library (`phrasewise::cli`).

fn main() -> std::process::ExitCode {
    phrasewise::cli::main()
}
