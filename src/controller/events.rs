use std::collections::VecDeque;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// The API's limit on an event note.
const MAX_NOTE: usize = 1024;

/// How many distinct notes keep their series; older ones start a new event if repeated.
const RECENT_NOTES: usize = 128;

/// kube's `Recorder` folds every event of one object with the same reason into one series
/// that keeps the first note: a later "Deployment/x created" or a new revision would only
/// bump a count under an old message. As client-go does, this makes a new event for each
/// distinct note and a series only for repeats of the same note: one `Recorder` (one
/// series cache) per note, for the most recent notes.
pub struct EventRecorder {
    client: Client,
    reporter: Reporter,
    recent: Mutex<VecDeque<(u64, Recorder)>>,
}

impl EventRecorder {
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            recent: Mutex::default(),
        }
    }

    fn for_note(&self, reference: &ObjectReference, type_: EventType, reason: &str, note: &str) -> Recorder {
        let mut hasher = DefaultHasher::new();
        (&reference.uid, &reference.namespace, &reference.name, &reference.kind).hash(&mut hasher);
        (type_ == EventType::Warning, reason, note).hash(&mut hasher);
        let key = hasher.finish();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, recorder)) = recent.iter().find(|(k, _)| *k == key) {
            return recorder.clone();
        }
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        recent.push_back((key, recorder.clone()));
        if recent.len() > RECENT_NOTES {
            recent.pop_front();
        }
        recorder
    }
}

/// Publishes an event; a failure to publish is logged, never fails a reconciliation.
pub async fn publish(
    recorder: &EventRecorder,
    reference: &ObjectReference,
    type_: EventType,
    reason: &str,
    note: &str,
) {
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
    let series = recorder.for_note(reference, type_, reason, event.note.as_deref().unwrap_or_default());
    if let Err(error) = series.publish(&event, reference).await {
        tracing::warn!(%error, reason, "cannot publish event");
    }
}
