//! A small eBPF assembler: the few instructions the run-queue latency programs use, encoded
//! as the kernel reads them (`struct bpf_insn`), with labels for forward jumps. Programs
//! are built at run time, so no compiler or prebuilt object is needed.

/// A register: r0 (return value), r1–r5 (arguments, clobbered by calls), r6–r9 (kept
/// across calls), r10 (frame pointer, read only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(pub u8);

pub const R0: Reg = Reg(0);
pub const R1: Reg = Reg(1);
pub const R2: Reg = Reg(2);
pub const R3: Reg = Reg(3);
pub const R4: Reg = Reg(4);
pub const R6: Reg = Reg(6);
pub const R7: Reg = Reg(7);
pub const R8: Reg = Reg(8);
pub const R9: Reg = Reg(9);
pub const R10: Reg = Reg(10);

// Opcode parts (include/uapi/linux/bpf.h, bpf_common.h).
const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_ST: u8 = 0x02;
const BPF_STX: u8 = 0x03;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_H: u8 = 0x08;
const BPF_B: u8 = 0x10;
const BPF_DW: u8 = 0x18;
const BPF_IMM: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;
const ALU_ADD: u8 = 0x00;
const ALU_SUB: u8 = 0x10;
const ALU_DIV: u8 = 0x30;
const ALU_AND: u8 = 0x50;
const ALU_LSH: u8 = 0x60;
const ALU_RSH: u8 = 0x70;
const ALU_MOV: u8 = 0xb0;
const JMP_JA: u8 = 0x00;
const JMP_JEQ: u8 = 0x10;
const JMP_JGT: u8 = 0x20;
const JMP_JGE: u8 = 0x30;
const JMP_JNE: u8 = 0x50;
const JMP_JLE: u8 = 0xb0;
const JMP_CALL: u8 = 0x80;
const JMP_EXIT: u8 = 0x90;
/// `src_reg` of a 64-bit immediate load that holds a map's file descriptor.
const PSEUDO_MAP_FD: u8 = 1;

/// Helper functions (`enum bpf_func_id`).
pub const MAP_LOOKUP_ELEM: i32 = 1;
pub const MAP_UPDATE_ELEM: i32 = 2;
pub const MAP_DELETE_ELEM: i32 = 3;
pub const KTIME_GET_NS: i32 = 5;

/// One instruction, as `struct bpf_insn`: opcode, dst and src registers in one byte
/// (dst in the low nibble), a 16-bit offset and a 32-bit immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// The 8 bytes the kernel reads (little-endian fields, as on every host usetop runs).
    pub fn encode(&self) -> [u8; 8] {
        let o = self.off.to_le_bytes();
        let i = self.imm.to_le_bytes();
        [
            self.code,
            (self.dst & 0x0f) | (self.src << 4),
            o[0],
            o[1],
            i[0],
            i[1],
            i[2],
            i[3],
        ]
    }
}

/// A jump target, placed with `Asm::bind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Why a program could not be assembled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsmError {
    /// A jump to a label never bound.
    Unbound,
    /// A jump beyond the 16-bit offset.
    TooFar,
    /// A load or store of a width other than 1, 2, 4 or 8 bytes.
    Width(usize),
    /// A field offset beyond the 16-bit instruction offset.
    Offset(usize),
}

impl std::fmt::Display for AsmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsmError::Unbound => f.write_str("jump to an unbound label"),
            AsmError::TooFar => f.write_str("jump too far"),
            AsmError::Width(n) => write!(f, "no load of {n} bytes"),
            AsmError::Offset(n) => write!(f, "offset {n} out of range"),
        }
    }
}

#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    /// Jumps to patch: (instruction index, label).
    fixups: Vec<(usize, Label)>,
    error: Option<AsmError>,
}

fn size_bits(bytes: usize) -> Option<u8> {
    match bytes {
        1 => Some(BPF_B),
        2 => Some(BPF_H),
        4 => Some(BPF_W),
        8 => Some(BPF_DW),
        _ => None,
    }
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    fn push(&mut self, code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> &mut Asm {
        self.insns.push(Insn {
            code,
            dst: dst.0,
            src: src.0,
            off,
            imm,
        });
        self
    }

    fn fail(&mut self, e: AsmError) -> &mut Asm {
        self.error.get_or_insert(e);
        self
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `l` at the next instruction.
    pub fn bind(&mut self, l: Label) -> &mut Asm {
        self.labels[l.0] = Some(self.insns.len());
        self
    }

    /// dst = imm (sign-extended to 64 bits).
    pub fn mov_imm(&mut self, dst: Reg, imm: i32) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_MOV | BPF_K, dst, R0, 0, imm)
    }

    /// dst = src.
    pub fn mov(&mut self, dst: Reg, src: Reg) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_MOV | BPF_X, dst, src, 0, 0)
    }

    pub fn add_imm(&mut self, dst: Reg, imm: i32) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_ADD | BPF_K, dst, R0, 0, imm)
    }

    pub fn add(&mut self, dst: Reg, src: Reg) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_ADD | BPF_X, dst, src, 0, 0)
    }

    pub fn sub(&mut self, dst: Reg, src: Reg) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_SUB | BPF_X, dst, src, 0, 0)
    }

    /// dst /= imm, unsigned (imm must not be 0).
    pub fn div_imm(&mut self, dst: Reg, imm: i32) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_DIV | BPF_K, dst, R0, 0, imm)
    }

    pub fn and_imm(&mut self, dst: Reg, imm: i32) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_AND | BPF_K, dst, R0, 0, imm)
    }

    /// dst <<= imm.
    pub fn lsh_imm(&mut self, dst: Reg, imm: i32) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_LSH | BPF_K, dst, R0, 0, imm)
    }

    /// dst >>= imm, logical.
    pub fn rsh_imm(&mut self, dst: Reg, imm: i32) -> &mut Asm {
        self.push(BPF_ALU64 | ALU_RSH | BPF_K, dst, R0, 0, imm)
    }

    /// dst = *(width bytes *)(src + off), zero-extended.
    pub fn load(&mut self, dst: Reg, src: Reg, off: usize, width: usize) -> &mut Asm {
        let Some(w) = size_bits(width) else {
            return self.fail(AsmError::Width(width));
        };
        let Ok(off) = i16::try_from(off) else {
            return self.fail(AsmError::Offset(off));
        };
        self.push(BPF_LDX | BPF_MEM | w, dst, src, off, 0)
    }

    /// *(width bytes *)(dst + off) = src.
    pub fn store(&mut self, dst: Reg, off: i16, src: Reg, width: usize) -> &mut Asm {
        let Some(w) = size_bits(width) else {
            return self.fail(AsmError::Width(width));
        };
        self.push(BPF_STX | BPF_MEM | w, dst, src, off, 0)
    }

    /// *(width bytes *)(dst + off) = imm.
    pub fn store_imm(&mut self, dst: Reg, off: i16, imm: i32, width: usize) -> &mut Asm {
        let Some(w) = size_bits(width) else {
            return self.fail(AsmError::Width(width));
        };
        self.push(BPF_ST | BPF_MEM | w, dst, R0, off, imm)
    }

    /// dst = the map behind file descriptor `fd` (two instruction slots).
    pub fn load_map(&mut self, dst: Reg, fd: i32) -> &mut Asm {
        self.push(BPF_LD | BPF_IMM | BPF_DW, dst, Reg(PSEUDO_MAP_FD), 0, fd);
        self.push(0, R0, R0, 0, 0)
    }

    pub fn call(&mut self, helper: i32) -> &mut Asm {
        self.push(BPF_JMP | JMP_CALL, R0, R0, 0, helper)
    }

    pub fn exit(&mut self) -> &mut Asm {
        self.push(BPF_JMP | JMP_EXIT, R0, R0, 0, 0)
    }

    fn jump(&mut self, op: u8, dst: Reg, imm: i32, to: Label) -> &mut Asm {
        self.fixups.push((self.insns.len(), to));
        self.push(BPF_JMP | op | BPF_K, dst, R0, 0, imm)
    }

    pub fn ja(&mut self, to: Label) -> &mut Asm {
        self.jump(JMP_JA, R0, 0, to)
    }

    pub fn jeq_imm(&mut self, dst: Reg, imm: i32, to: Label) -> &mut Asm {
        self.jump(JMP_JEQ, dst, imm, to)
    }

    pub fn jne_imm(&mut self, dst: Reg, imm: i32, to: Label) -> &mut Asm {
        self.jump(JMP_JNE, dst, imm, to)
    }

    /// Jump if dst > imm, unsigned.
    pub fn jgt_imm(&mut self, dst: Reg, imm: i32, to: Label) -> &mut Asm {
        self.jump(JMP_JGT, dst, imm, to)
    }

    /// Jump if dst > src, unsigned.
    pub fn jgt(&mut self, dst: Reg, src: Reg, to: Label) -> &mut Asm {
        self.fixups.push((self.insns.len(), to));
        self.push(BPF_JMP | JMP_JGT | BPF_X, dst, src, 0, 0)
    }

    /// Jump if dst >= imm, unsigned.
    pub fn jge_imm(&mut self, dst: Reg, imm: i32, to: Label) -> &mut Asm {
        self.jump(JMP_JGE, dst, imm, to)
    }

    /// Jump if dst <= imm, unsigned.
    pub fn jle_imm(&mut self, dst: Reg, imm: i32, to: Label) -> &mut Asm {
        self.jump(JMP_JLE, dst, imm, to)
    }

    /// The program, every jump resolved.
    pub fn finish(mut self) -> Result<Vec<Insn>, AsmError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        for &(at, label) in &self.fixups {
            let target = self.labels[label.0].ok_or(AsmError::Unbound)?;
            // Offsets count from the instruction after the jump.
            let off = target as i64 - at as i64 - 1;
            self.insns[at].off = i16::try_from(off).map_err(|_| AsmError::TooFar)?;
        }
        Ok(self.insns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_kernel_reads_bpf_insn() {
        let mut a = Asm::new();
        let out = a.label();
        a.mov_imm(R0, 0)
            .load(R6, R1, 24, 4)
            .load(R7, R1, 32, 8)
            .store(R10, -4, R6, 4)
            .store_imm(R10, -8, 7, 4)
            .load_map(R1, 5)
            .add_imm(R2, -4)
            .call(MAP_LOOKUP_ELEM)
            .jeq_imm(R0, 0, out)
            .div_imm(R7, 1000)
            .bind(out)
            .exit();
        let p = a.finish().unwrap();
        let bytes: Vec<[u8; 8]> = p.iter().map(Insn::encode).collect();
        // Byte strings as llvm-objdump prints them for the same instructions.
        assert_eq!(bytes[0], [0xb7, 0x00, 0, 0, 0, 0, 0, 0]); // r0 = 0
        assert_eq!(bytes[1], [0x61, 0x16, 24, 0, 0, 0, 0, 0]); // r6 = *(u32 *)(r1 + 24)
        assert_eq!(bytes[2], [0x79, 0x17, 32, 0, 0, 0, 0, 0]); // r7 = *(u64 *)(r1 + 32)
        assert_eq!(bytes[3], [0x63, 0x6a, 0xfc, 0xff, 0, 0, 0, 0]); // *(u32 *)(r10 - 4) = r6
        assert_eq!(bytes[4], [0x62, 0x0a, 0xf8, 0xff, 7, 0, 0, 0]); // *(u32 *)(r10 - 8) = 7
        assert_eq!(bytes[5], [0x18, 0x11, 0, 0, 5, 0, 0, 0]); // r1 = map fd 5
        assert_eq!(bytes[6], [0; 8]);
        assert_eq!(bytes[7], [0x07, 0x02, 0, 0, 0xfc, 0xff, 0xff, 0xff]); // r2 += -4
        assert_eq!(bytes[8], [0x85, 0x00, 0, 0, 1, 0, 0, 0]); // call 1
        // if r0 == 0 goto +1 (over the division, to exit)
        assert_eq!(bytes[9], [0x15, 0x00, 1, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[10], [0x37, 0x07, 0, 0, 0xe8, 0x03, 0, 0]); // r7 /= 1000
        assert_eq!(bytes[11], [0x95, 0, 0, 0, 0, 0, 0, 0]); // exit
    }

    #[test]
    fn refuses_what_it_cannot_encode() {
        let mut a = Asm::new();
        let l = a.label();
        a.ja(l);
        assert_eq!(a.finish(), Err(AsmError::Unbound));
        let mut a = Asm::new();
        a.load(R1, R1, 0, 3);
        assert_eq!(a.finish(), Err(AsmError::Width(3)));
        let mut a = Asm::new();
        a.load(R1, R1, 40_000, 4);
        assert_eq!(a.finish(), Err(AsmError::Offset(40_000)));
        // A backward jump is fine.
        let mut a = Asm::new();
        let top = a.label();
        a.bind(top).mov_imm(R0, 0).ja(top);
        assert_eq!(a.finish().unwrap()[1].off, -2);
    }
}
