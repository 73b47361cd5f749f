//! Objects deleted to be created again (SPEC-resourceset §11.3): with
//! `fluxcd.controlplane.io/force: enabled` (on the set, the rendered or the live object)
//! one whose change the API server refuses as immutable (a Job's template); with
//! `recreateOnFailure: enabled` a Job of this set that Failed, before its step.

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Preconditions, PropagationPolicy};
use serde_json::Value;

use crate::apply::{self, Applier, ChangeSet, ObjectId};

pub const FORCE: &str = "fluxcd.controlplane.io/force";
pub const RECREATE_ON_FAILURE: &str = "fluxcd.controlplane.io/recreateOnFailure";
const ENABLED: &str = "enabled";

/// How long a recreate waits for the old object to go.
const GONE_TIMEOUT: Duration = Duration::from_secs(60);

pub fn forced(annotations: &Value) -> bool {
    annotations[FORCE]
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case(ENABLED))
}

/// [`apply::apply_staged`], recreating each object refused as immutable that may be
/// forced, once.
pub async fn apply_forcing(
    applier: &Applier<'_>,
    objects: &[Value],
    set_forced: bool,
) -> Result<ChangeSet, apply::Error> {
    let mut recreated = 0;
    loop {
        let error = match apply::apply_staged(applier, objects).await {
            Err(error) => error,
            done => return done,
        };
        let Some(obj) = immutable(&error, objects) else {
            return Err(error);
        };
        if recreated >= objects.len() || !recreate(applier, obj, set_forced).await? {
            return Err(error);
        }
        recreated += 1;
    }
}

/// The rendered object of an apply error that refused it as immutable.
pub fn immutable<'a>(error: &apply::Error, objects: &'a [Value]) -> Option<&'a Value> {
    let apply::Error::DryRun { object, source } = error else {
        return None;
    };
    let kube::Error::Api(status) = source else { return None };
    if status.code != 422 || !status.message.contains("immutable") {
        return None;
    }
    objects
        .iter()
        .find(|o| ObjectId::from_object(o).is_some_and(|id| id.to_string() == *object))
}

/// Deletes `obj` if forcing is allowed (`set_forced`, or the annotation on the rendered
/// or the live object) and waits until it is gone; false when it is not allowed.
pub async fn recreate(applier: &Applier<'_>, obj: &Value, set_forced: bool) -> Result<bool, apply::Error> {
    let Some(found) = live(applier, obj).await? else {
        return Ok(ObjectId::from_object(obj).is_some());
    };
    let live_forced = forced(&serde_json::to_value(&found.2.metadata.annotations).unwrap_or_default());
    if !(set_forced || forced(&obj["metadata"]["annotations"]) || live_forced) {
        return Ok(false);
    }
    delete_and_wait(applier, &found).await?;
    tracing::info!(object = %found.1, "recreated: an immutable field changed and force is enabled");
    Ok(true)
}

/// Deletes the Jobs of `objects` marked `recreateOnFailure: enabled` whose live Job is
/// this set's and Failed, so that the step creates them anew (`prune: disabled` does not
/// keep them: the user asked for the recreation).
pub async fn delete_failed_jobs(applier: &Applier<'_>, objects: &[Value]) -> Result<(), apply::Error> {
    for obj in objects.iter().filter(|o| recreated_on_failure(o)) {
        let Some(found) = live(applier, obj).await? else {
            continue;
        };
        let value = serde_json::to_value(&found.2).unwrap_or_default();
        if applier.options.owner.owns(&value) && failed(&value) {
            delete_and_wait(applier, &found).await?;
            tracing::info!(object = %found.1, "deleted a failed Job to run it again");
        }
    }
    Ok(())
}

/// A Job marked `recreateOnFailure: enabled`: every reconcile looks at its status.
pub fn recreated_on_failure(obj: &Value) -> bool {
    obj["apiVersion"] == "batch/v1"
        && obj["kind"] == "Job"
        && obj["metadata"]["annotations"][RECREATE_ON_FAILURE]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(ENABLED))
}

fn failed(job: &Value) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Failed" && c["status"] == "True"))
}

type Live = (Api<DynamicObject>, ObjectId, DynamicObject);

/// The live object of a rendered one, with its API, if it exists.
async fn live(applier: &Applier<'_>, obj: &Value) -> Result<Option<Live>, apply::Error> {
    let Some(id) = ObjectId::from_object(obj) else {
        return Ok(None);
    };
    let api = applier.api_for(&id).await?;
    let live = api.get_opt(&id.name).await.map_err(|source| apply::Error::Read {
        object: id.to_string(),
        source,
    })?;
    Ok(live.map(|l| (api, id, l)))
}

/// Deletes `live` (background propagation: the test bed and many clusters have no
/// garbage collector that a foreground deletion would wait for; the UID precondition
/// keeps a newer object safe) and waits until it is gone, at most [`GONE_TIMEOUT`].
async fn delete_and_wait(applier: &Applier<'_>, (api, id, live): &Live) -> Result<(), apply::Error> {
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(Preconditions {
            uid: live.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    if let Some(deletions) = &applier.options.deletions {
        deletions.expect(id);
    }
    match api.delete(&id.name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
        Err(source) => {
            return Err(apply::Error::Delete {
                object: id.to_string(),
                source,
            });
        }
    }
    let deadline = tokio::time::Instant::now() + GONE_TIMEOUT;
    loop {
        let still = api.get_opt(&id.name).await.map_err(|source| apply::Error::Read {
            object: id.to_string(),
            source,
        })?;
        let same = still.is_some_and(|s| s.metadata.uid == live.metadata.uid);
        if !same || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(code: u16, message: &str) -> apply::Error {
        let status = kube::core::Status::failure(message, "Invalid").with_code(code);
        apply::Error::DryRun {
            object: "Job/apps/j".into(),
            source: kube::Error::Api(Box::new(status)),
        }
    }

    #[test]
    fn only_an_immutable_refusal_names_its_object() {
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "apps"}});
        let objects = [job.clone()];
        let immutable_error = refused(
            422,
            "Job.batch \"j\" is invalid: spec.template: Invalid value: field is immutable",
        );
        assert_eq!(immutable(&immutable_error, &objects), Some(&job));
        assert_eq!(immutable(&refused(422, "spec.x: Required value"), &objects), None);
        assert_eq!(immutable(&refused(500, "field is immutable"), &objects), None);
        assert!(forced(&json!({FORCE: "Enabled"})));
        assert!(!forced(&json!({})));
    }
}
