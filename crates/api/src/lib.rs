//! The Sonarly HTTP API: router, middleware, envelope and OpenAPI document.

pub mod console;
pub mod cors;
pub mod envelope;
pub mod extract;
pub mod idempotency;
pub mod keepalive;
pub mod metrics;
pub mod middleware;
pub mod ratelimit;
pub mod routes;
pub mod server;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use envelope::ApiError;
use routes::events::WebhooksCatalog;
use sonarly_app::linkedin::ProviderRegistry;
use sonarly_domain::ErrorCode;
use sonarly_domain::clock::SharedClock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_store::Store;
use std::sync::Arc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Request bodies above this are refused with 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// Everything a request handler may need ([`AppShared`], read through `Deref`).
/// Cheap to clone: one reference count. Every middleware layer and handler
/// takes its own clone per request, so a deep copy here (the cursor secret,
/// the pools, the provider registry) was paid several times per request.
/// Changing a field (`state.registry = …`, setup and tests) copies the shared
/// part first when another clone still holds it.
#[derive(Clone)]
pub struct AppState(Arc<AppShared>);

impl std::ops::Deref for AppState {
    type Target = AppShared;

    fn deref(&self) -> &AppShared {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut AppShared {
        Arc::make_mut(&mut self.0)
    }
}

/// What [`AppState`] shares.
#[derive(Clone)]
pub struct AppShared {
    pub store: Store,
    pub clock: SharedClock,
    pub cursors: CursorCodec,
    pub rate_limits: Arc<ratelimit::RateLimits>,
    /// Authenticated keys, cached for a few seconds ([`sonarly_app::auth::KeyCache`]).
    pub keys: Arc<sonarly_app::auth::KeyCache>,
    /// Live LinkedIn providers (shared with the engine).
    pub registry: ProviderRegistry,
    /// Composes previews: the built-in composer unless a model is configured ([`AppState::with_composer`]).
    pub composer: sonarly_app::composer::SharedComposer,
    /// Which webhook endpoint URLs are accepted (HTTPS and public addresses unless the operator allows more).
    pub webhook_policy: sonarly_domain::webhooks::UrlPolicy,
    /// Cross-origin access for listed origins ([`AppState::with_cors`]); none by default.
    pub cors: Option<Arc<cors::CorsPolicy>>,
    openapi_json: Arc<String>,
    pub(crate) extra_route_access: Arc<Vec<ExtraRoute>>,
}

impl AppState {
    /// Uses `composer` for previews (e.g. the OpenAI-compatible one).
    pub fn with_composer(mut self, composer: sonarly_app::composer::SharedComposer) -> Self {
        self.composer = composer;
        self
    }

    /// Accepts webhook endpoint URLs under `policy` (`--webhooks-allow-http`, `--webhooks-allow-private`).
    pub fn with_webhook_policy(mut self, policy: sonarly_domain::webhooks::UrlPolicy) -> Self {
        self.webhook_policy = policy;
        self
    }

    /// Answers CORS preflights and marks responses for the origins of `policy` (`--cors-origins`).
    pub fn with_cors(mut self, policy: cors::CorsPolicy) -> Self {
        self.cors = Some(Arc::new(policy));
        self
    }
}

/// The access rule of a route mounted with [`router_with`]: (method, path template, access).
pub type ExtraRoute = (&'static str, &'static str, sonarly_domain::scope::RouteAccess);

impl AppState {
    /// Builds the state, loading (or creating) the installation's cursor secret.
    pub async fn new(store: Store, clock: SharedClock) -> Result<Self, sonarly_store::StoreError> {
        let initial = sonarly_domain::apikey::random_secret_hex();
        let secret = store.setting_or_init("cursor_secret", &initial).await?;
        let rate_limits = Arc::new(ratelimit::RateLimits::for_store(&store, &clock));
        Ok(Self(Arc::new(AppShared {
            registry: ProviderRegistry::new(store.clone(), clock.clone()),
            composer: Arc::new(sonarly_app::composer::BuiltinComposer),
            webhook_policy: Default::default(),
            cors: None,
            store,
            clock,
            cursors: CursorCodec::new(secret.into_bytes()),
            rate_limits,
            keys: Arc::new(sonarly_app::auth::KeyCache::new()),
            openapi_json: Arc::new(String::new()),
            extra_route_access: Arc::new(Vec::new()),
        })))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sonarly API",
        version = "v1",
        description = "Sonarly Server: a self-hostable implementation of the Sonarly public API v1. \
                       Every response is the envelope {success, data, error, traceId}."
    ),
    modifiers(&BearerAuth, &WebhooksCatalog),
    components(schemas(envelope::ErrorEnvelope))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearerAuth", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The documented `/v1` routes with their OpenAPI entries, declared once.
fn v1_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::accounts::list_accounts))
        .routes(routes!(routes::accounts::get_account))
        .routes(routes!(routes::api_keys::current_key))
        .routes(routes!(routes::audiences::list_audiences, routes::audiences::create_audience))
        .routes(routes!(routes::audiences::navigation))
        .routes(routes!(
            routes::audiences::get_audience,
            routes::audiences::update_audience,
            routes::audiences::delete_audience
        ))
        .routes(routes!(routes::audiences::move_to_folder))
        .routes(routes!(routes::audiences::remove_from_folder))
        .routes(routes!(routes::audiences::create_folder))
        .routes(routes!(routes::audiences::rename_folder))
        .routes(routes!(routes::campaigns::list_campaigns, routes::campaigns::create_campaign))
        .routes(routes!(routes::campaigns::starter_templates))
        .routes(routes!(routes::campaigns::get_campaign))
        .routes(routes!(routes::campaigns::duplicate_campaign))
        .routes(routes!(routes::campaigns::list_content_slots))
        .routes(routes!(routes::campaigns::update_content_slot))
        .routes(routes!(routes::campaigns::start_campaign))
        .routes(routes!(routes::campaigns::stop_campaign))
        .routes(routes!(routes::campaigns::lead_status))
        .routes(routes!(routes::campaigns::campaign_funnel))
        .routes(routes!(routes::campaigns::campaign_leads))
        .routes(routes!(routes::campaigns::approve))
        .routes(routes!(routes::campaigns::discard))
        .routes(routes!(routes::events::list_events))
        .routes(routes!(
            routes::linkedin_accounts::list_linkedin_accounts,
            routes::linkedin_accounts::connect_linkedin_account
        ))
        .routes(routes!(routes::linkedin_accounts::connect_link))
        .routes(routes!(routes::linkedin_accounts::reconnect_link))
        .routes(routes!(routes::linkedin_accounts::solve_checkpoint))
        .routes(routes!(routes::linkedin_accounts::register_webhooks))
        .routes(routes!(routes::seats::get_linkedin_account, routes::seats::update_linkedin_account))
        .routes(routes!(routes::messages::list_messages))
        .routes(routes!(routes::prospecting::start_job, routes::prospecting::list_jobs))
        .routes(routes!(routes::prospecting::get_quota))
        .routes(routes!(routes::prospecting::get_job))
        .routes(routes!(routes::prospecting::cancel_job))
        .routes(routes!(routes::prospecting::saved_searches))
        .routes(routes!(routes::prospecting::lead_lists))
        .routes(routes!(routes::prospects::lookup_by_provider_id))
        .routes(routes!(routes::prospects::list_audience_prospects))
        .routes(routes!(routes::responses::queue_response, routes::responses::list_responses))
        .routes(routes!(routes::responses::get_response))
        .routes(routes!(routes::responses::cancel_response))
        .routes(routes!(routes::signals::start_scan, routes::signals::list_scans))
        .routes(routes!(routes::signals::get_scan))
        .routes(routes!(routes::signals::cancel_scan))
        .routes(routes!(routes::signals::prospect_signals))
        .routes(routes!(routes::webhook_endpoints::list_endpoints, routes::webhook_endpoints::create_endpoint))
        .routes(routes!(
            routes::webhook_endpoints::get_endpoint,
            routes::webhook_endpoints::update_endpoint,
            routes::webhook_endpoints::delete_endpoint
        ))
        .routes(routes!(routes::webhook_endpoints::rotate_secret))
        .routes(routes!(routes::webhook_endpoints::test_endpoint))
        .routes(routes!(routes::webhook_endpoints::list_attempts))
        .routes(routes!(routes::webhook_endpoints::redeliver))
        .routes(routes!(
            routes::templates::writing_styles::list_writing_styles,
            routes::templates::writing_styles::create_writing_style
        ))
        .routes(routes!(
            routes::templates::writing_styles::get_writing_style,
            routes::templates::writing_styles::update_writing_style,
            routes::templates::writing_styles::delete_writing_style
        ))
        .routes(routes!(routes::templates::writing_styles::preview_writing_style))
        .routes(routes!(
            routes::templates::value_propositions::list_value_propositions,
            routes::templates::value_propositions::create_value_proposition
        ))
        .routes(routes!(
            routes::templates::value_propositions::get_value_proposition,
            routes::templates::value_propositions::update_value_proposition,
            routes::templates::value_propositions::delete_value_proposition
        ))
        .routes(routes!(
            routes::templates::signal_specifications::list_signal_specifications,
            routes::templates::signal_specifications::create_signal_specification
        ))
        .routes(routes!(
            routes::templates::signal_specifications::get_signal_specification,
            routes::templates::signal_specifications::update_signal_specification,
            routes::templates::signal_specifications::delete_signal_specification
        ))
}

/// The OpenAPI document generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut spec = v1_routes().split_for_parts().1;
    routes::contract::complete(&mut spec);
    routes::links::add(&mut spec);
    spec
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new(), Vec::new())
}

/// The application plus `extra` routes behind the same pipeline
/// (authentication, scopes, envelope), with their access rules; tests use it
/// to exercise middleware on purpose-built handlers.
pub fn router_with(mut state: AppState, extra: Router<AppState>, extra_access: Vec<ExtraRoute>) -> Router {
    state.extra_route_access = Arc::new(extra_access);
    let (v1, mut spec) = v1_routes().split_for_parts();
    routes::contract::complete(&mut spec);
    routes::links::add(&mut spec);
    state.openapi_json = Arc::new(spec.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    let authenticated = v1
        .merge(extra)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), middleware::require_scope))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::authenticate));
    Router::new()
        .merge(authenticated)
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/v1/webhooks/unipile/{linkedinAccountId}", post(routes::webhooks::unipile))
        .route("/v1/openapi.json", get(routes::ops::openapi_json))
        .route("/docs", get(routes::ops::docs))
        .merge(console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors::cors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::trace))
        .layer(axum::middleware::from_fn(keepalive::drain_unread_body))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No such route.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "This method is not allowed on this route.")
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = %message, "handler panicked");
    ApiError::from(sonarly_domain::DomainError::internal()).into_response()
}
