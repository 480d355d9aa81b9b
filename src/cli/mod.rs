pub mod check;
pub mod status;
