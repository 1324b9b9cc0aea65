//! [`Schema`]: every object of an org, by name and by key prefix.

use std::sync::Arc;

use crate::{ChildRelationship, NameMap, ObjectDef, lowercase};

/// Every object of the org. Objects and their indexes are shared between copies (copied
/// on the first change), so a copy costs three reference counts, and a new version of
/// the schema with one object changed costs its indexes, not the catalogue.
#[derive(Debug, Clone)]
pub struct Schema {
    objects: Arc<Vec<Arc<ObjectDef>>>,
    by_name: Arc<NameMap>,
    by_prefix: Arc<NameMap>,
}

impl Schema {
    /// Builds a schema; later objects replace earlier ones of the same name.
    pub fn new(objects: Vec<ObjectDef>) -> Self {
        Self::shared(objects.into_iter().map(Arc::new))
    }

    /// [`Schema::new`] of objects others hold too (the standard catalogue's): they are
    /// shared, not copied, until one is changed.
    pub fn shared(objects: impl IntoIterator<Item = Arc<ObjectDef>>) -> Self {
        let mut schema = Self {
            objects: Arc::default(),
            by_name: Arc::default(),
            by_prefix: Arc::default(),
        };
        for o in objects {
            schema.add(o);
        }
        schema
    }

    fn add(&mut self, object: Arc<ObjectDef>) {
        let key = object.name.to_ascii_lowercase();
        let objects = Arc::make_mut(&mut self.objects);
        let i = match self.by_name.get(&key) {
            Some(&i) => {
                objects[i] = object;
                i
            }
            None => {
                objects.push(object);
                objects.len() - 1
            }
        };
        let prefix = objects[i].key_prefix.clone();
        Arc::make_mut(&mut self.by_name).insert(key, i);
        Arc::make_mut(&mut self.by_prefix).insert(prefix, i);
    }

    /// All objects in catalogue order.
    pub fn objects(&self) -> impl ExactSizeIterator<Item = &ObjectDef> + Clone {
        self.objects.iter().map(|o| &**o)
    }

    /// Where the object of `name` (any case) is in `objects`.
    fn index_of(&self, name: &str) -> Option<usize> {
        lowercase::with(name, |key| self.by_name.get(key).copied())
    }

    /// Looks an object up by name, case-insensitively.
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        let i = self.index_of(name)?;
        Some(&*self.objects[i])
    }

    /// Looks an object up by name, case-insensitively, as a handle that keeps it alive
    /// after this version of the schema is gone.
    pub fn object_shared(&self, name: &str) -> Option<Arc<ObjectDef>> {
        let i = self.index_of(name)?;
        Some(self.objects[i].clone())
    }

    /// Mutable access (the object is copied first when another version shares it).
    pub fn object_mut(&mut self, name: &str) -> Option<&mut ObjectDef> {
        let i = self.index_of(name)?;
        Some(Arc::make_mut(&mut Arc::make_mut(&mut self.objects)[i]))
    }

    /// Adds or replaces an object.
    pub fn insert(&mut self, object: ObjectDef) {
        self.add(Arc::new(object));
    }

    /// Removes an object; the rest keep their order.
    pub fn remove(&mut self, name: &str) -> Option<Arc<ObjectDef>> {
        let i = lowercase::with(name, |key| self.by_name.get(key).copied())?;
        let removed = Arc::make_mut(&mut self.objects).remove(i);
        let by_name = Arc::make_mut(&mut self.by_name);
        let by_prefix = Arc::make_mut(&mut self.by_prefix);
        by_name.clear();
        by_prefix.clear();
        for (j, o) in self.objects.iter().enumerate() {
            by_name.insert(o.name.to_ascii_lowercase(), j);
            by_prefix.insert(o.key_prefix.clone(), j);
        }
        Some(removed)
    }

    /// The object whose records have this key prefix.
    pub fn object_by_prefix(&self, prefix: &str) -> Option<&ObjectDef> {
        self.by_prefix.get(prefix).map(|&i| &*self.objects[i])
    }

    /// The child relationships pointing at `parent`, in catalogue order.
    pub fn child_relationships(&self, parent: &str) -> Vec<ChildRelationship> {
        let mut out = Vec::new();
        for o in self.objects.iter() {
            for f in &o.fields {
                if f.reference_to
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(parent))
                {
                    out.push(ChildRelationship {
                        child: o.name.clone(),
                        field: f.name.clone(),
                        name: f.child_relationship.clone(),
                        cascade_delete: f.cascade_delete,
                    });
                }
            }
        }
        out
    }

    /// The next free custom-object key prefix (`a00`, `a01`, ...), if any is left.
    pub fn next_custom_prefix(&self, retired: &[String]) -> Option<String> {
        const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..62 * 62)
            .map(|n| format!("a{}{}", B62[n / 62] as char, B62[n % 62] as char))
            .find(|p| !self.by_prefix.contains_key(p) && !retired.contains(p))
    }
}
