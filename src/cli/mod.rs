pub mod admin;
pub mod check;
pub mod explain;
pub mod import;
pub mod status;
