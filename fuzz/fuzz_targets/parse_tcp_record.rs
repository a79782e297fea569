#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| usetop_fuzz::parse_tcp_record(data));
