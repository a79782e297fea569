#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| usetop_fuzz::parse_trace_format(data));
