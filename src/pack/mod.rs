//! pack (work in progress)
