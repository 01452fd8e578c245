//! The engine: the warehouse, the shared runtime (memory pool, spill), and a fresh DataFusion
//! session per user — with every table, UDF and view of queries/ registered.

use crate::config::Config;
use crate::error::{CipError, Result};
use crate::storage::{Store, StoreOptions};
use crate::views::{self, ViewFile};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::Arc;

pub use crate::registrar::Registrar;

/// What a new warehouse (or a table new to it) starts with: the default tier ladder and segment
/// rules (version 1) and the default message templates.
pub const SEEDS: &[crate::warehouse::Seed] = &[
    ("tier_rules", crate::tiers::default_ladder),
    ("segment_rules", crate::segments::default_rules),
    (
        "message_templates",
        crate::campaigns::templates::default_templates,
    ),
];

/// Every domain module's registration, in order: one list, called for each new session.
const DOMAINS: &[fn(&Registrar) -> Result<()>] = &[
    crate::functions::register,
    crate::tiers::register,
    crate::campaigns::register,
];

pub struct Engine {
    pub config: Config,
    pub store: Arc<Store>,
    runtime: Arc<RuntimeEnv>,
    views: Vec<ViewFile>,
    /// The views of queries/, planned by the first session (bind_functions.rs).
    planned_views: std::sync::OnceLock<Vec<views::Planned>>,
    /// The views and schemas users created, saved in the data directory.
    pub user_views: Arc<crate::catalog::user_views::UserViews>,
    /// Which tables were appended to (the dispatcher and conversion attribution wait on it).
    pub changes: Arc<crate::warehouse::Changes>,
    /// The address the HTTP API was bound to (`--http 127.0.0.1:0` picks a port).
    pub http_bound: std::sync::OnceLock<std::net::SocketAddr>,
    /// PostgreSQL's advisory locks, shared by every session.
    pub advisory: Arc<crate::catalog::advisory_locks::AdvisoryLocks>,
    /// The OIDs the catalog lists objects by, the same on every connection.
    pub object_ids: Arc<crate::catalog::object_ids::ObjectIds>,
    /// The client sessions pg_stat_activity lists.
    pub backends: Arc<crate::catalog::activity::Backends>,
}

impl Engine {
    /// Opens the data directory and checks that every view loads and the contract views keep
    /// their columns; a broken view file stops start-up with an error naming the file.
    pub async fn open(config: Config) -> Result<Engine> {
        crate::catalog::server_facts::mark_start();
        let opts = StoreOptions {
            flush_rows: config.storage.flush_rows,
            max_parts: config.storage.max_parts,
            point_read_part_rows: config.storage.point_read_part_rows,
            timezone: config.timezone()?,
            ..StoreOptions::default()
        };
        let root = config.data_dir.clone();
        let changes = Arc::new(crate::warehouse::Changes::new());
        let appended = changes.clone();
        let store = tokio::task::spawn_blocking(move || {
            crate::warehouse::open(&root, opts, SEEDS, appended)
        })
        .await
        .map_err(|e| CipError::Corrupt(format!("opening the store failed: {e}")))??;
        let mut disk = DiskManagerBuilder::default();
        if let Some(dir) = &config.engine.spill_dir {
            disk = disk.with_mode(DiskManagerMode::Directories(vec![dir.clone()]));
        }
        // Fair to spilling operators by default: each may hold its share of what the others
        // that cannot spill leave (share_pool.rs for the choices). Under the greedy pool the
        // first sorts of a ten-million-member fit took the pool whole and an aggregation's
        // next small allocation failed (53200) rather than anyone spilling.
        let pool =
            crate::share_pool::server_pool(config.engine.memory_pool, config.memory_limit_bytes()?);
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(pool)
            .with_metadata_cache_limit(config.metadata_cache_bytes()?)
            .with_disk_manager_builder(disk)
            .build_arc()?;
        let views = views::read_views(&config.queries_dir)?;
        let user_views = Arc::new(crate::catalog::user_views::UserViews::open(
            &config.data_dir,
        )?);
        let engine = Engine {
            config,
            store: Arc::new(store),
            runtime,
            views,
            planned_views: std::sync::OnceLock::new(),
            user_views,
            changes,
            http_bound: std::sync::OnceLock::new(),
            advisory: Default::default(),
            object_ids: Default::default(),
            backends: Default::default(),
        };
        engine
            .new_session(true, None, engine.default_options())
            .await?;
        Ok(engine)
    }

    /// What members' tracking links start with: `server.public_url`, else http:// and the
    /// HTTP API's address as bound, else nothing (the link is then the bare path /t/TOKEN).
    pub fn public_url(&self) -> String {
        match (&self.config.server.public_url, self.http_bound.get()) {
            (Some(u), _) => u.trim_end_matches('/').to_string(),
            (None, Some(addr)) => format!("http://{addr}"),
            (None, None) => match &self.config.server.http {
                Some(addr) => format!("http://{addr}"),
                None => String::new(),
            },
        }
    }

    /// The view files of queries/, in the order they are created.
    pub fn view_files(&self) -> &[ViewFile] {
        &self.views
    }

    /// A new session: its own settings, sharing the warehouse and the memory pool.
    pub async fn session(&self) -> Result<SessionContext> {
        self.new_session(false, None, self.default_options()).await
    }

    /// A session for a client (a connection, an HTTP request): it may hold no more than
    /// engine.statement_memory_limit of the pool at once (session_memory.rs).
    pub async fn client_session(&self) -> Result<SessionContext> {
        let limit = self.config.statement_memory_limit_bytes()?;
        self.new_session(false, Some(limit), self.client_options())
            .await
    }

    /// A session; with `check_views`, the contract views' columns are checked as they are
    /// created (at start-up).
    async fn new_session(
        &self,
        check_views: bool,
        limit: Option<usize>,
        options: crate::settings::CipOptions,
    ) -> Result<SessionContext> {
        let mut cfg = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("cip", "public")
            .with_option_extension(options);
        // DataFusion 55's leaf-expression pushdown fails to plan some valid statements over
        // the views' struct-valued fits ("push_down_leaf_projections … ambiguous", apache/
        // datafusion#25446/#24241), e.g. a prepared filter on p_alive. cip's tables hold no
        // struct columns, so the pushdown had nothing to save here.
        cfg.options_mut().optimizer.enable_leaf_expression_pushdown = false;
        // DataFusion 55.2's RepartitionExec deadlocks (every thread parked, no error) when
        // two input tasks spill into one output partition's pool and leave two files open:
        // its reader waits on the older file for a batch that is in the newer one (apache/
        // datafusion#24883, fixed after 55.2). With one batch per file, a file is closed in
        // the same call that opened it, so the reader never waits on one nobody will finish.
        cfg.options_mut().execution.max_spill_file_size_bytes =
            datafusion::common::config::ConfigNonZeroUsize::try_new(1)?;
        if self.config.engine.target_partitions > 0 {
            cfg = cfg.with_target_partitions(self.config.engine.target_partitions);
        }
        let mut state = SessionStateBuilder::new()
            .with_config(cfg)
            .with_runtime_env(match limit {
                Some(limit) => crate::session_memory::SessionPool::runtime(&self.runtime, limit),
                None => self.runtime.clone(),
            })
            .with_default_features()
            .with_analyzer_rules(crate::analyzer::rules())
            .with_optimizer_rule(crate::analyzer::business_date_ranges())
            .with_physical_optimizer_rule(Arc::new(crate::compact_views::CompactViewsRule))
            .with_physical_optimizer_rule(Arc::new(crate::keysort::KeySortRule))
            .with_query_planner(Arc::new(crate::bind_functions::BindingPlanner))
            .build();
        cip_udfs::register_all(&mut state)?;
        // The fits ask the session's StatementStop between iterations (armed per statement
        // by pgwire; never set elsewhere, so they run to the end there).
        let stop = Arc::new(crate::statement_stop::StatementStop::default());
        for fit in cip_udfs::fits(Some(stop.fit_stop())) {
            state.register_udaf(Arc::new(fit))?;
        }
        state.config_mut().set_extension(stop);
        // pg_description lists what COMMENT ON said of the saved views (catalog/key_rows.rs).
        state.config_mut().set_extension(self.user_views.clone());
        let ctx = SessionContext::new_with_state(state);
        let registrar = Registrar {
            ctx: &ctx,
            store: &self.store,
            config: &self.config,
            public_url: self.public_url(),
        };
        for register in DOMAINS {
            register(&registrar)?;
        }
        // The PostgreSQL catalog lists the functions registered above (pg_proc).
        crate::catalog::install(&ctx, &self.config, &self.object_ids, &self.backends).await?;
        // Tables created at run time are the statement layer's to register (they may live in
        // a schema of their own): statement/shared_objects.rs.
        for t in self.store.tables() {
            if self.store.created_at_run_time(t.name()) {
                continue;
            }
            ctx.register_table(
                t.name(),
                Arc::new(crate::warehouse::Guarded::new(t.clone())),
            )?;
        }
        crate::scores::register(&ctx, &self.store)?;
        // The views are planned once, by the first session (Engine::open's), and shared.
        match self.planned_views.get() {
            Some(planned) => views::register_planned(&ctx, planned)?,
            None => {
                let planned = views::create_views(&ctx, &self.views, check_views).await?;
                let _ = self.planned_views.set(planned);
            }
        }
        Ok(ctx)
    }

    /// A new session's `cip.*` settings: the configured time zone, day cut-off, key sort and
    /// churn horizon.
    pub fn default_options(&self) -> crate::settings::CipOptions {
        let mut o = crate::settings::CipOptions::default();
        o.timezone = self.config.time.timezone.clone();
        o.day_cutoff = self.config.time.day_cutoff.clone();
        o.key_sort = self.config.engine.key_sort;
        o.churn_horizon_days = self.config.models.churn_horizon_days;
        o
    }

    /// A client's `cip.*` settings: the defaults, and a new day's model fits made in the
    /// background while its queries use the latest earlier fit (`[models] background_fits`).
    pub fn client_options(&self) -> crate::settings::CipOptions {
        let mut o = self.default_options();
        o.fit_fallback = self.config.models.background_fits;
        o
    }

    /// The built-in views: those of queries/, and customer_segments, which src/scores
    /// answers from the snapshot (queries/ holds its live form).
    pub fn view_names(&self) -> Vec<String> {
        self.views
            .iter()
            .map(|v| v.view.clone())
            .chain(crate::scores::VIEWS.iter().map(|v| v.to_string()))
            .collect()
    }
}
