//! `cip`: the command-line entry point. Each command lives in its own module.

use cip::cli::{Cli, ClusterRole, Command};
use cip::config::Config;
use cip::error::{sqlstate, CipError, Result};
use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cip::allocator::tune();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CIP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // Deep stacks here too: a connection's task receives statements and drops their trees.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(cip::statement::runtime::STATEMENT_STACK_BYTES)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e} (SQLSTATE {})", e.sqlstate());
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data {
        config.data_dir = d;
    }
    if cli.cluster.is_some() && !matches!(cli.command, Command::Sql { .. } | Command::Score { .. })
    {
        return Err(CipError::invalid(
            sqlstate::SYNTAX_ERROR,
            "--cluster applies to `sql` and `score` only",
        ));
    }
    match cli.command {
        Command::Generate {
            members,
            seed,
            out,
            stores,
            until,
            venue,
            price_scale,
        } => {
            let until = cip::generate::parse_until(until.as_deref())?;
            let opts = cip::generate::GenOptions {
                members,
                seed,
                stores,
                until,
                progress: true,
                venue: cip::generate::Venue::named(&venue, price_scale)?,
            };
            let tz = config.timezone()?;
            tokio::task::spawn_blocking(move || cip::generate::generate(&out, &opts, tz))
                .await
                .map_err(|e| CipError::Corrupt(format!("generator failed: {e}")))??;
            Ok(())
        }
        Command::Load {
            table,
            file,
            upsert,
        } => {
            let engine = cip::engine::Engine::open(config).await?;
            let n = cip::load::load_file(&engine, &table, &file, upsert).await?;
            println!(
                "{} {n} rows into {table}",
                if upsert { "upserted" } else { "loaded" }
            );
            Ok(())
        }
        Command::Sql { command, file } => {
            let text = match (command, file) {
                (Some(c), None) => c,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .map_err(|e| CipError::io(format!("read {}", f.display()), e))?,
                (None, None) => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .map_err(|e| CipError::io("read standard input", e))?;
                    s
                }
                (Some(_), Some(_)) => {
                    return Err(CipError::invalid(
                        sqlstate::SYNTAX_ERROR,
                        "give -c or -f, not both",
                    ))
                }
            };
            let engine = std::sync::Arc::new(cip::engine::Engine::open(config).await?);
            if let Some(url) = &cli.cluster {
                let local = engine.session().await?;
                let ctx = cip::cluster::session(&engine, &local, url).await?;
                return cip::cluster::run_script(&ctx, &text, &mut std::io::stdout()).await;
            }
            let session = cip::statement::Session::open_internal(engine).await?;
            cip::sql::run_script(&session, &text, &mut std::io::stdout()).await
        }
        Command::Serve { listen, http } => {
            if let Some(l) = listen {
                config.server.listen = l;
            }
            if http.is_some() {
                config.server.http = http;
            }
            cip::serve::serve(config).await
        }
        Command::Demo {
            members,
            listen,
            http,
        } => {
            if let Some(l) = listen {
                config.server.listen = l;
            }
            if http.is_some() {
                config.server.http = http;
            }
            cip::serve::demo(config, members).await
        }
        Command::Score {
            out,
            into_warehouse,
            as_of,
            quiet,
        } => {
            if into_warehouse && cli.cluster.is_some() {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "--into-warehouse writes the snapshot, and writes stay local: \
                     score it without --cluster",
                ));
            }
            let engine = cip::engine::Engine::open(config).await?;
            if into_warehouse {
                let n = cip::score::into_warehouse(&engine, as_of.as_deref()).await?;
                println!("scored {n} members into the table member_scores");
            }
            if let Some(out) = out {
                let n = cip::score::score(
                    &engine,
                    &out,
                    as_of.as_deref(),
                    !quiet,
                    cli.cluster.as_deref(),
                )
                .await?;
                println!("scored {n} members into {}", out.display());
            }
            Ok(())
        }
        Command::Cluster { role } => match role {
            ClusterRole::Scheduler { bind } => cip::cluster::scheduler(bind).await,
            ClusterRole::Executor {
                scheduler,
                bind,
                grpc_bind,
                work_dir,
                concurrent_tasks,
            } => {
                cip::cluster::executor(cip::cluster::ExecutorOptions {
                    scheduler,
                    bind,
                    grpc_bind,
                    work_dir,
                    concurrent_tasks,
                })
                .await
            }
        },
        Command::Checkpoint => {
            let engine = cip::engine::Engine::open(config).await?;
            let store = engine.store.clone();
            tokio::task::spawn_blocking(move || store.shutdown())
                .await
                .map_err(|e| CipError::Corrupt(format!("checkpoint failed: {e}")))??;
            println!("checkpoint done");
            Ok(())
        }
    }
}
