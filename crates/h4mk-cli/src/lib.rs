//! The h4mk command as a library.
