use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder};

/// The API's limit on an event note.
const MAX_NOTE: usize = 1024;

/// Publishes an event; a failure to publish is logged, never fails a reconciliation.
pub async fn publish(recorder: &Recorder, reference: &ObjectReference, type_: EventType, reason: &str, note: &str) {
    let mut note = note.to_owned();
    if note.len() > MAX_NOTE {
        let mut cut = MAX_NOTE - 3;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push_str("...");
    }
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, reference).await {
        tracing::warn!(%error, reason, "cannot publish event");
    }
}
