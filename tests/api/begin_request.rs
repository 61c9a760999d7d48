//! `auth.begin_request` re-checks every JWT claim against the database, so
//! logout, removal, suspension and role changes bite on the next request.
//! Exercised through `Db`, the path every handler takes.

use axum::http::StatusCode;
use uuid::Uuid;
use vectra::db::{Actor, Db, SessionClaims};
use vectra::error::ApiError;

use crate::harness::seed::{self, Seed};
use crate::harness::{TestDb, sqlstate};

async fn setup() -> (TestDb, tokio_postgres::Client, Seed, Db) {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    let seed = seed::two_orgs(&admin).await;
    let handle = db.db(2);
    (db, admin, seed, handle)
}

/// What the request sees of itself: role, org setting, user setting.
async fn whoami(db: &Db, actor: &Actor) -> Result<Vec<String>, ApiError> {
    db.call(
        actor,
        "select array[current_user::text, coalesce(current_setting('app.org_id', true), ''),
                      coalesce(current_setting('app.user_id', true), ''), coalesce(current_setting('app.role', true), '')]",
        &[],
    )
    .await
    .map_err(ApiError::from)
}

fn problem(result: Result<Vec<String>, ApiError>) -> (StatusCode, String) {
    match result {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(ApiError::Problem(p)) => (p.status, p.detail),
        Err(e) => panic!("expected a problem, got {e:?}"),
    }
}

#[tokio::test]
async fn a_live_session_gets_its_role_and_settings() {
    let (_db, _admin, seed, db) = setup().await;
    let seen = whoami(&db, &Actor::Member(seed.a.owner_claims()))
        .await
        .expect("allowed");
    assert_eq!(
        seen,
        vec![
            "vectra_member".to_owned(),
            seed.a.id.to_string(),
            seed.a.owner.to_string(),
            "owner".to_owned()
        ]
    );
    let seen = whoami(&db, &Actor::PlatformAdmin(seed.platform_claims()))
        .await
        .expect("allowed");
    assert_eq!(seen[0], "vectra_platform_admin");
    assert_eq!(seen[1], "", "the platform admin has no organization");
    let seen = whoami(&db, &Actor::Anonymous).await.expect("anonymous");
    assert_eq!(
        seen,
        vec![
            "vectra_anon".to_owned(),
            String::new(),
            String::new(),
            String::new()
        ]
    );
}

#[tokio::test]
async fn a_revoked_unknown_foreign_or_expired_session_is_refused() {
    let (_db, admin, seed, db) = setup().await;
    let claims = seed.a.owner_claims();

    admin
        .execute(
            "update sessions set revoked_at = now() where id = $1",
            &[&claims.session_id],
        )
        .await
        .expect("revoke");
    assert_eq!(
        problem(whoami(&db, &Actor::Member(claims.clone())).await),
        (StatusCode::UNAUTHORIZED, "Session revoked".into())
    );

    let unknown = SessionClaims {
        session_id: Uuid::new_v4(),
        ..seed.a.member_claims()
    };
    assert_eq!(
        problem(whoami(&db, &Actor::Member(unknown)).await),
        (StatusCode::UNAUTHORIZED, "Session not found".into())
    );

    // A's member presenting A's owner's session id.
    let borrowed = SessionClaims {
        session_id: seed.a.owner_session,
        ..seed.a.member_claims()
    };
    assert_eq!(
        problem(whoami(&db, &Actor::Member(borrowed)).await),
        (StatusCode::UNAUTHORIZED, "Session not found".into())
    );

    admin
        .execute(
            "update sessions set expires_at = now() - interval '1 second' where id = $1",
            &[&seed.a.member_session],
        )
        .await
        .expect("expire");
    assert_eq!(
        problem(whoami(&db, &Actor::Member(seed.a.member_claims())).await),
        (StatusCode::UNAUTHORIZED, "Session expired".into())
    );
    // B is untouched by all of this.
    whoami(&db, &Actor::Member(seed.b.owner_claims()))
        .await
        .expect("B still works");
}

#[tokio::test]
async fn removed_and_suspended_users_are_refused() {
    let (_db, admin, seed, db) = setup().await;
    admin
        .execute(
            "update users set status = 'removed', deleted_at = now() where id = $1",
            &[&seed.a.member],
        )
        .await
        .expect("remove");
    assert_eq!(
        problem(whoami(&db, &Actor::Member(seed.a.member_claims())).await),
        (StatusCode::UNAUTHORIZED, "Account removed".into())
    );
    admin
        .execute(
            "update users set status = 'suspended' where id = $1",
            &[&seed.a.owner],
        )
        .await
        .expect("suspend");
    assert_eq!(
        problem(whoami(&db, &Actor::Member(seed.a.owner_claims())).await),
        (StatusCode::FORBIDDEN, "Account suspended".into())
    );
}

#[tokio::test]
async fn a_suspended_or_deleted_organization_blocks_its_users() {
    let (_db, admin, seed, db) = setup().await;
    admin
        .execute(
            "update organizations set status = 'suspended' where id = $1",
            &[&seed.a.id],
        )
        .await
        .expect("suspend");
    assert_eq!(
        problem(whoami(&db, &Actor::Member(seed.a.owner_claims())).await),
        (StatusCode::FORBIDDEN, "Organization suspended".into())
    );
    admin
        .execute(
            "update organizations set status = 'deleted', deleted_at = now() where id = $1",
            &[&seed.b.id],
        )
        .await
        .expect("delete");
    assert_eq!(
        problem(whoami(&db, &Actor::Member(seed.b.member_claims())).await),
        (StatusCode::FORBIDDEN, "Organization deleted".into())
    );
}

#[tokio::test]
async fn claims_that_no_longer_match_the_database_are_refused() {
    let (_db, admin, seed, db) = setup().await;
    // The member was promoted after the token was issued.
    admin
        .execute(
            "update users set role = 'admin' where id = $1",
            &[&seed.a.member],
        )
        .await
        .expect("promote");
    let stale_role = whoami(&db, &Actor::Member(seed.a.member_claims())).await;
    match stale_role {
        Err(ApiError::Problem(p)) => {
            assert_eq!(p.status, StatusCode::UNAUTHORIZED);
            assert_eq!(p.detail, "Token no longer matches the account");
            assert_eq!(p.hint.as_deref(), Some("Refresh the access token."));
        }
        other => panic!("stale role accepted: {other:?}"),
    }
    // A token claiming another organization than the user's.
    let wrong_org = SessionClaims {
        org_id: Some(seed.b.id),
        ..seed.a.owner_claims()
    };
    assert_eq!(
        problem(whoami(&db, &Actor::Member(wrong_org)).await),
        (
            StatusCode::UNAUTHORIZED,
            "Token no longer matches the account".into()
        )
    );
    // A token claiming a higher role than the user has.
    let escalated = SessionClaims {
        role: "platform_admin".into(),
        org_id: None,
        ..seed.a.owner_claims()
    };
    assert_eq!(
        problem(whoami(&db, &Actor::PlatformAdmin(escalated)).await),
        (
            StatusCode::UNAUTHORIZED,
            "Token no longer matches the account".into()
        )
    );
}

#[tokio::test]
async fn the_database_role_must_suit_the_user() {
    let (_db, admin, seed, db) = setup().await;
    assert_eq!(
        problem(whoami(&db, &Actor::PlatformAdmin(seed.a.owner_claims())).await),
        (
            StatusCode::FORBIDDEN,
            "Platform admin access required".into()
        )
    );
    assert_eq!(
        problem(whoami(&db, &Actor::Member(seed.platform_claims())).await),
        (
            StatusCode::FORBIDDEN,
            "Organization user access required".into()
        )
    );
    admin
        .execute(
            "update users set email_verified_at = null where id = $1",
            &[&seed.platform_admin],
        )
        .await
        .expect("unverify");
    let (status, detail) =
        problem(whoami(&db, &Actor::PlatformAdmin(seed.platform_claims())).await);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(detail, "Platform admin access requires a verified email");
    // Unverified, it may still act as itself without table access.
    let seen = whoami(&db, &Actor::Authenticated(seed.platform_claims()))
        .await
        .expect("own profile");
    assert_eq!(seen[0], "vectra_anon");
    assert_eq!(seen[2], seed.platform_admin.to_string());
}

#[tokio::test]
async fn begin_request_needs_a_request_role_and_bound_values() {
    let (db, _admin, seed, _handle) = setup().await;
    let auth = db.authenticator().await;
    let c = seed.a.owner_claims();
    // Without switching role first.
    let err = auth
        .query(
            "select auth.begin_request($1, $2, $3, $4)",
            &[&c.session_id, &c.user_id, &c.org_id, &c.role],
        )
        .await
        .expect_err("begin_request as the authenticator itself");
    assert_eq!(sqlstate(&err), "42501");
    // The authenticator cannot become a role outside the four request roles.
    let err = auth
        .query("select set_config('role', 'postgres', true)", &[])
        .await
        .expect_err("set role postgres");
    assert_eq!(sqlstate(&err), "42501");
    // After a refused request the connection is back to itself, with no settings.
    auth.batch_execute("begin").await.expect("begin");
    let _ = auth
        .query(
            "select set_config('role', 'vectra_member', true), auth.begin_request($1, $2, $3, 'admin')",
            &[&c.session_id, &c.user_id, &c.org_id],
        )
        .await
        .expect_err("role mismatch");
    auth.batch_execute("rollback").await.expect("rollback");
    let row = auth
        .query_one(
            "select current_user::text, coalesce(current_setting('app.org_id', true), '')",
            &[],
        )
        .await
        .expect("state");
    assert_eq!(row.get::<_, String>(0), "vectra_authenticator");
    assert_eq!(row.get::<_, String>(1), "");
}
