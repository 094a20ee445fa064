//! The in-memory object store emulators keep their resources in: ordered by creation, with
//! generated ids and page slicing for list endpoints.
//!
//! Must not know any vendor's object shapes; values are whatever the emulator stores.

use std::sync::{Arc, Mutex, MutexGuard};

use indexmap::IndexMap;

/// Objects by id, in creation order. Clones share the same objects.
#[derive(Debug, Clone)]
pub struct Store<T> {
    inner: Arc<Mutex<Inner<T>>>,
}

#[derive(Debug)]
struct Inner<T> {
    next_id: u64,
    objects: IndexMap<String, T>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store { inner: Arc::new(Mutex::new(Inner { next_id: 1, objects: IndexMap::new() })) }
    }
}

impl<T: Clone> Store<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `make(id)` under a fresh numeric id and returns the id.
    pub fn insert_with(&self, make: impl FnOnce(&str) -> T) -> String {
        let mut inner = self.lock();
        let id = inner.next_id.to_string();
        inner.next_id += 1;
        let object = make(&id);
        inner.objects.insert(id.clone(), object);
        id
    }

    /// Stores `object` under an id the emulator chose (a UUID, a name); replaces any previous one.
    pub fn put(&self, id: &str, object: T) -> Option<T> {
        self.lock().objects.insert(id.to_string(), object)
    }

    pub fn get(&self, id: &str) -> Option<T> {
        self.lock().objects.get(id).cloned()
    }

    /// Applies `change` to the object, returning the updated copy; None when absent.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut T)) -> Option<T> {
        let mut inner = self.lock();
        let object = inner.objects.get_mut(id)?;
        change(object);
        Some(object.clone())
    }

    pub fn remove(&self, id: &str) -> Option<T> {
        self.lock().objects.shift_remove(id)
    }

    pub fn len(&self) -> usize {
        self.lock().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn list(&self) -> Vec<T> {
        self.lock().objects.values().cloned().collect()
    }

    /// Page `page` (1-based) of `per_page` objects.
    pub fn page(&self, page: usize, per_page: usize) -> Vec<T> {
        let per_page = per_page.max(1);
        let skip = page.saturating_sub(1).saturating_mul(per_page);
        self.lock().objects.values().skip(skip).take(per_page).cloned().collect()
    }

    /// Up to `limit` objects after the one with id `marker` (from the start without one); None
    /// when the marker is unknown, which OpenStack answers with 400.
    pub fn after(&self, marker: Option<&str>, limit: usize) -> Option<Vec<T>> {
        let inner = self.lock();
        let start = match marker {
            Some(m) => inner.objects.get_index_of(m)? + 1,
            None => 0,
        };
        Some(inner.objects.values().skip(start).take(limit).cloned().collect())
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_markers_slice_in_creation_order() {
        let store: Store<u32> = Store::new();
        for n in 0..7u32 {
            store.insert_with(|_| n);
        }
        assert_eq!(store.page(2, 3), vec![3, 4, 5]);
        assert_eq!(store.page(3, 3), vec![6]);
        assert_eq!(store.after(Some("2"), 2), Some(vec![2, 3]));
        assert_eq!(store.after(Some("nope"), 2), None);
        assert_eq!(store.update("1", |v| *v = 9), Some(9));
        assert_eq!(store.remove("1"), Some(9));
        assert_eq!(store.len(), 6);
    }
}
