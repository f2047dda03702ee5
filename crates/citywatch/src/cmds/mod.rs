pub mod admin;
pub mod audit;
pub mod check;
pub mod demo;
pub mod import;
pub mod serve;
pub mod sim;
