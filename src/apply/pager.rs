use kube::api::ListParams;
use kube::core::ListMeta;

/// Walks a paginated list (limit/continue), so that memory holds one page at a time
/// however many objects there are.
pub struct Pager {
    params: ListParams,
    done: bool,
}

impl Pager {
    pub fn new(params: ListParams, page_size: u32) -> Self {
        Self {
            params: params.limit(page_size),
            done: false,
        }
    }

    /// The parameters of the next page, or None after the last one.
    pub fn next_params(&self) -> Option<&ListParams> {
        (!self.done).then_some(&self.params)
    }

    /// Moves past a page just fetched.
    pub fn advance(&mut self, meta: &ListMeta) {
        match meta.continue_.as_deref().filter(|c| !c.is_empty()) {
            Some(token) => self.params = self.params.clone().continue_token(token),
            None => self.done = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_the_page_without_a_token() {
        let mut pager = Pager::new(ListParams::default(), 2);
        assert_eq!(pager.next_params().unwrap().limit, Some(2));
        pager.advance(&ListMeta {
            continue_: Some("t1".into()),
            ..ListMeta::default()
        });
        assert_eq!(pager.next_params().unwrap().continue_token.as_deref(), Some("t1"));
        pager.advance(&ListMeta {
            continue_: Some(String::new()),
            ..ListMeta::default()
        });
        assert!(pager.next_params().is_none());
    }
}
