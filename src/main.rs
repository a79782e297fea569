use clap::Parser;
use clap::error::ErrorKind;

fn main() {
    let cli = match usetop::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // clap's own message spans several lines (usage, a hint); one line is enough.
            eprintln!("usetop: {}", one_line(&e.to_string()));
            std::process::exit(2);
        }
    };
    if let Err(e) = usetop::cli::run(cli) {
        eprintln!("usetop: {e:#}");
        std::process::exit(2);
    }
}

fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}
