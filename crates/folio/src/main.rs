//! `folio`: Folio's command-line tool.
//!
//! Thin by design: arguments are parsed here, the work is done by the
//! library (`folio::release`, ...).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use folio::release::{self, Environment};

#[derive(Debug, Parser)]
#[command(
    name = "folio",
    version,
    about = "Folio: run, operate and release the system"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the whole system locally on its embedded defaults.
    Up,
    /// Onboard and list client organisations (operators only).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Promotion as code: which image every environment runs.
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Release(ReleaseArgs),
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation and its first admin.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// At least 12 characters.
        #[arg(long, env = "FOLIO_ORG_ADMIN_PASSWORD")]
        admin_password: String,
        #[arg(long)]
        admin_name: Option<String>,
    },
    /// List every organisation.
    List,
}

#[derive(Debug, Args)]
struct ReleaseArgs {
    /// Repository root holding `argocd/apps/`.
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    root: PathBuf,

    #[command(subcommand)]
    command: ReleaseCommand,
}

#[derive(Debug, Subcommand)]
enum ReleaseCommand {
    /// Print what every environment runs (image tag and chart revision).
    Status,
    /// Print the image tag (or, with --revision, the chart revision) that
    /// ENV runs, and nothing else.
    Get {
        /// dev, stage or prod.
        env: Environment,
        /// Print the chart's git revision instead of the image tag.
        #[arg(long)]
        revision: bool,
    },
    /// Point the entry environment (dev) at the images tagged TAG.
    SetImage {
        /// Must be dev: the other environments only take promotions.
        env: Environment,
        /// Image tag (the commit SHA the images were built from).
        tag: String,
        /// Also pin the chart to this git revision (normally the same SHA).
        #[arg(long, value_name = "REV")]
        revision: Option<String>,
    },
    /// Copy what FROM runs into TO (dev -> stage, stage -> prod).
    Promote {
        /// Source environment.
        from: Environment,
        /// Target environment: the one right after FROM.
        to: Environment,
        /// Refuse unless FROM runs exactly this image tag.
        #[arg(long)]
        tag: Option<String>,
        /// Read FROM from this checkout (e.g. a worktree of the `env-DEV`
        /// git tag) instead of --root.
        #[arg(long, value_name = "DIR")]
        source_root: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("folio: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up => {
            use folio_platform::telemetry::{self, TelemetryConfig};
            let config = TelemetryConfig::from_env("folio")?;
            tokio::runtime::Runtime::new()?.block_on(async {
                // One tracer provider for the three services; their spans
                // name them in the `service` attribute.
                let telemetry = telemetry::install(&config)?;
                let served = Box::pin(folio::up::run()).await;
                telemetry.shutdown().await;
                served?;
                Ok::<_, anyhow::Error>(())
            })
        }
        Command::Org(command) => run_org(command),
        Command::Release(args) => run_release(args),
    }
}

fn run_org(command: OrgCommand) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    match command {
        OrgCommand::Create {
            name,
            admin_email,
            admin_password,
            admin_name,
        } => {
            let (org, admin) = runtime.block_on(folio::org::create(
                name,
                admin_email,
                admin_password,
                admin_name,
            ))?;
            println!("organisation {} ({})", org.name, org.id);
            println!("first admin  {} ({})", admin.email, admin.id);
        }
        OrgCommand::List => {
            for org in runtime.block_on(folio::org::list())? {
                println!("{}  {}  {}", org.id, org.created_at, org.name);
            }
        }
    }
    Ok(())
}

fn run_release(args: ReleaseArgs) -> Result<()> {
    let root = args.root;
    match args.command {
        ReleaseCommand::Status => {
            for (env, pin) in release::status(&root)? {
                println!(
                    "{:<6} image.tag={} revision={}",
                    env.name(),
                    pin.image_tag,
                    pin.revision
                );
            }
        }
        ReleaseCommand::Get { env, revision } => {
            let pin = release::read_pin(&root, env)?;
            println!(
                "{}",
                if revision {
                    pin.revision
                } else {
                    pin.image_tag
                }
            );
        }
        ReleaseCommand::SetImage { env, tag, revision } => {
            let outcome = release::set_image(&root, env, &tag, revision.as_deref())?;
            println!("{outcome}");
        }
        ReleaseCommand::Promote {
            from,
            to,
            tag,
            source_root,
        } => {
            let source_root = source_root.unwrap_or_else(|| root.clone());
            let outcome = release::promote(&source_root, &root, from, to, tag.as_deref())?;
            println!("{outcome}");
        }
    }
    Ok(())
}
