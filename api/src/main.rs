use std::process::ExitCode;

use clap::Parser;
use portcullis_api::config::{Cli, Command, DatabaseArgs};
use portcullis_api::jwt::TokenIssuer;
use portcullis_api::telemetry::{self, LogFormat};
use portcullis_api::{Application, demo, spec};
use portcullis_persistence::Database;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match LogFormat::parse(cli.log_format.as_deref()) {
        Ok(format) => format,
        Err(line) => return config_error(&[line]),
    };
    telemetry::init(format);
    // The server's failure is a log line (JSON where logs are collected); a command's is one line
    // for the person who typed it, not the same line twice (once logged, once printed).
    let serving = matches!(cli.command, Command::Serve(_));
    match run(cli.command) {
        Ok(code) => code,
        Err(error) if serving => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Bad configuration: one line per bad variable, exit status 2.
fn config_error(lines: &[String]) -> ExitCode {
    for line in lines {
        eprintln!("configuration error: {line}");
    }
    ExitCode::from(2)
}

fn connect(args: &DatabaseArgs) -> Result<Database, ExitCode> {
    let settings = args.settings().map_err(|lines| config_error(&lines))?;
    Database::connect_for_command(&settings.target).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let settings = match args.settings() {
                Ok(settings) => settings,
                Err(lines) => return Ok(config_error(&lines)),
            };
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings).await?;
                tracing::info!(bind = %args.bind, port = app.port(), "serving; Swagger UI at /swagger-ui/");
                app.run_until_stopped().await?;
                tracing::info!("stopped");
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Migrate(args) => {
            let db = match connect(&args) {
                Ok(db) => db,
                Err(code) => return Ok(code),
            };
            let applied = db.run_migrations()?;
            println!(
                "applied {} migration(s){}",
                applied.len(),
                if applied.is_empty() { "" } else { ":" }
            );
            for name in applied {
                println!("  {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin {
            database,
            email,
            name,
        } => {
            let db = match connect(&database) {
                Ok(db) => db,
                Err(code) => return Ok(code),
            };
            db.run_migrations()?;
            let id = demo::create_admin(&db, &email, name.as_deref())?;
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            database,
            jwt,
            email,
            ttl,
        } => {
            let secret = match jwt.secret() {
                Ok(Some(secret)) => secret,
                Ok(None) => {
                    return Ok(config_error(&[
                        "PORTCULLIS_JWT_SECRET: required to sign tokens".to_owned(),
                    ]));
                }
                Err(line) => return Ok(config_error(&[line])),
            };
            let db = match connect(&database) {
                Ok(db) => db,
                Err(code) => return Ok(code),
            };
            let user = demo::active_user_id(&db, &email)?;
            let issuer = TokenIssuer::new(&secret, jwt.jwt_issuer, jwt.jwt_audience);
            println!(
                "{}",
                issuer.issue(&user.to_string(), chrono::Utc::now().timestamp(), ttl)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            print!("{}", spec::spec_yaml().map_err(anyhow::Error::msg)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedDemo(args) => {
            let db = match connect(&args) {
                Ok(db) => db,
                Err(code) => return Ok(code),
            };
            db.run_migrations()?;
            if demo::seed_demo(&db)? {
                println!("demo directory created");
            } else {
                println!("demo directory already present");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
