//! Reading Salesforce's corpus and printing our values the way its Java harness prints its own.

#![allow(unreachable_pub)]

pub mod java;
pub mod xml;
