//! # pallet-opml-market
//!
//! The OPML task market (DESIGN.md §7). This crate starts with the clearing function
//! ([`auction`]); the pallet (model registry, tasks and escrow, rounds, assignment,
//! deadlines, settlement) builds on it.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod auction;
