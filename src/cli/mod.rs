pub mod admin;
pub mod check;
pub mod status;
