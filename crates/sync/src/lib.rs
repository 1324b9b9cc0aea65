//! Locks taken whatever a panicking holder left behind. A panic inside a request is
//! caught where it happens and answered as an error; the state a lock guards is kept
//! consistent by its owner's own steps, so forcebus takes a poisoned lock as it is rather
//! than failing every later request. The two traits say so once: `m.locked()` for a
//! `Mutex` ([`MutexExt`]), `l.read_locked()` and `l.write_locked()` for an `RwLock`
//! ([`RwLockExt`]); `use forcebus_sync::prelude::*` brings both.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Taking a `Mutex`, poisoned or not.
pub trait MutexExt<T: ?Sized> {
    /// The guard.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> MutexExt<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Taking an `RwLock`, poisoned or not.
pub trait RwLockExt<T: ?Sized> {
    /// A read guard.
    fn read_locked(&self) -> RwLockReadGuard<'_, T>;
    /// A write guard.
    fn write_locked(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockExt<T> for RwLock<T> {
    fn read_locked(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(PoisonError::into_inner)
    }
    fn write_locked(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Both traits, for `use forcebus_sync::prelude::*`.
pub mod prelude {
    pub use crate::{MutexExt as _, RwLockExt as _};
}

#[cfg(test)]
mod tests {
    use super::prelude::*;
    use std::sync::{Arc, Mutex, RwLock};

    #[test]
    fn a_lock_poisoned_by_a_panic_is_still_taken() {
        let m = Arc::new(Mutex::new(1));
        let l = Arc::new(RwLock::new(2));
        let (m2, l2) = (m.clone(), l.clone());
        let _ = std::thread::spawn(move || {
            let _a = m2.lock().unwrap();
            let _b = l2.write().unwrap();
            panic!("poison both");
        })
        .join();
        assert!(m.is_poisoned() && l.is_poisoned());
        *m.locked() += 1;
        *l.write_locked() += 1;
        assert_eq!((*m.locked(), *l.read_locked()), (2, 3));
    }
}
