pub mod admin;
pub mod audit;
pub mod demo;
pub mod import;
pub mod serve;
