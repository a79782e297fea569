#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| usetop_fuzz::cgroup_name(data));
