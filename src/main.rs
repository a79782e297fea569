use clap::Parser;

fn main() {
    let cli = usetop::cli::Cli::parse();
    if let Err(e) = usetop::cli::run(cli) {
        eprintln!("usetop: {e:#}");
        std::process::exit(2);
    }
}
