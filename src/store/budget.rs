//! Decoding a frame within a memory budget. postcard trusts each sequence's claimed length
//! and a recording is input like any other: a few bytes per element can claim a million
//! empty notes that take 48 bytes each once decoded. This wraps the decoder and charges
//! what each decoded value costs in memory (every sequence slot, every struct, every
//! string), failing the frame the moment the total passes the budget.

use std::cell::Cell;
use std::fmt;
use std::mem::size_of;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// What is left of a frame's budget, and what was charged so far.
pub struct Budget {
    limit: u64,
    used: Cell<u64>,
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: Cell::new(0),
        }
    }

    /// Estimated bytes the decoded values take (an upper estimate: a struct inside another
    /// is counted in both).
    pub fn used(&self) -> u64 {
        self.used.get()
    }

    pub fn exceeded(&self) -> bool {
        self.used.get() > self.limit
    }

    fn charge<E: de::Error>(&self, n: usize) -> Result<(), E> {
        let used = self.used.get().saturating_add(n as u64);
        self.used.set(used);
        if used > self.limit {
            return Err(E::custom("over the decoding budget"));
        }
        Ok(())
    }
}

/// What a string or byte buffer of `len` bytes takes on the heap: the allocator rounds up
/// and never hands out less than 32 bytes, which matters for short ones.
pub fn heap(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.saturating_add(8).next_multiple_of(16).max(32)
    }
}

/// Why a frame did not decode.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the frame decodes to more than {} MiB", .0 >> 20)]
    TooLarge(u64),
    #[error("the frame does not decode: {0}")]
    Bad(String),
}

/// Decodes `T` from postcard bytes, charging `budget` for what it allocates.
pub fn from_bytes<'de, T: de::Deserialize<'de>>(
    raw: &'de [u8],
    budget: &Budget,
) -> Result<T, DecodeError> {
    take_from_bytes(raw, budget).map(|(v, _)| v)
}

/// Decodes `T` from the front of postcard bytes, charging `budget`; returns what follows.
pub fn take_from_bytes<'de, T: de::Deserialize<'de>>(
    raw: &'de [u8],
    budget: &Budget,
) -> Result<(T, &'de [u8]), DecodeError> {
    let mut de = postcard::Deserializer::from_bytes(raw);
    let r = budget
        .charge::<postcard::Error>(size_of::<T>())
        .and_then(|()| {
            T::deserialize(Limited {
                de: &mut de,
                budget,
            })
        });
    match r {
        Ok(v) => {
            let rest = de.finalize().map_err(|e| DecodeError::Bad(e.to_string()))?;
            Ok((v, rest))
        }
        // postcard keeps no message of its own for a custom error: say it here.
        Err(_) if budget.exceeded() => Err(DecodeError::TooLarge(budget.limit)),
        Err(e) => Err(DecodeError::Bad(e.to_string())),
    }
}

/// A deserializer whose every visitor is charged.
struct Limited<'b, D> {
    de: D,
    budget: &'b Budget,
}

struct LimitedVisitor<'b, V> {
    inner: V,
    budget: &'b Budget,
    /// Whether a sequence given to this visitor fills slots of a collection (charged each),
    /// or is the fields of a struct or tuple (inline, charged with the struct).
    slots: bool,
}

struct LimitedSeed<'b, S> {
    inner: S,
    budget: &'b Budget,
}

impl<'b, V> LimitedVisitor<'b, V> {
    fn new(inner: V, budget: &'b Budget) -> Self {
        LimitedVisitor {
            inner,
            budget,
            slots: true,
        }
    }

    fn fields(inner: V, budget: &'b Budget) -> Self {
        LimitedVisitor {
            inner,
            budget,
            slots: false,
        }
    }
}

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.de.$method(LimitedVisitor::new(visitor, self.budget))
            }
        )*
    };
}

impl<'de, 'b, D: Deserializer<'de>> Deserializer<'de> for Limited<'b, D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_unit_struct(name, LimitedVisitor::new(visitor, self.budget))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_newtype_struct(name, LimitedVisitor::new(visitor, self.budget))
    }

    // A struct or tuple is charged its size: it may sit behind an `Arc` or a `Box`, which
    // a sequence slot of 8 bytes does not account for.
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.budget.charge::<D::Error>(size_of::<V::Value>())?;
        self.de
            .deserialize_tuple(len, LimitedVisitor::fields(visitor, self.budget))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.budget.charge::<D::Error>(size_of::<V::Value>())?;
        self.de
            .deserialize_tuple_struct(name, len, LimitedVisitor::fields(visitor, self.budget))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.budget.charge::<D::Error>(size_of::<V::Value>())?;
        self.de
            .deserialize_struct(name, fields, LimitedVisitor::fields(visitor, self.budget))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_enum(name, variants, LimitedVisitor::new(visitor, self.budget))
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

macro_rules! pass {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, 'b, V: Visitor<'de>> Visitor<'de> for LimitedVisitor<'b, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    pass!(
        visit_bool: bool,
        visit_i8: i8,
        visit_i16: i16,
        visit_i32: i32,
        visit_i64: i64,
        visit_i128: i128,
        visit_u8: u8,
        visit_u16: u16,
        visit_u32: u32,
        visit_u64: u64,
        visit_u128: u128,
        visit_f32: f32,
        visit_f64: f64,
        visit_char: char,
    );

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.budget.charge::<E>(heap(v.len()))?;
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.budget.charge::<E>(heap(v.len()))?;
        self.inner.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.budget.charge::<E>(heap(v.len()))?;
        self.inner.visit_string(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.budget.charge::<E>(heap(v.len()))?;
        self.inner.visit_bytes(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        self.budget.charge::<E>(heap(v.len()))?;
        self.inner.visit_borrowed_bytes(v)
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<V::Value, E> {
        self.budget.charge::<E>(heap(v.len()))?;
        self.inner.visit_byte_buf(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Limited {
            de: d,
            budget: self.budget,
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Limited {
            de: d,
            budget: self.budget,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(LimitedSeq {
            inner: seq,
            budget: self.budget,
            slots: self.slots,
            len: 0,
            cap: 0,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(LimitedVisitor::new(map, self.budget))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner
            .visit_enum(LimitedVisitor::new(data, self.budget))
    }
}

impl<'de, 'b, S: DeserializeSeed<'de>> DeserializeSeed<'de> for LimitedSeed<'b, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Limited {
            de: d,
            budget: self.budget,
        })
    }
}

impl<'b, S> LimitedSeed<'b, S> {
    fn new(inner: S, budget: &'b Budget) -> Self {
        LimitedSeed { inner, budget }
    }
}

/// A sequence's elements: a collection's slots, or a struct's or tuple's fields.
struct LimitedSeq<'b, A> {
    inner: A,
    budget: &'b Budget,
    slots: bool,
    /// Elements so far, and the capacity the collection has reached for them.
    len: usize,
    cap: usize,
}

/// What serde preallocates for a sequence that claims `hint` elements of `size` bytes
/// (`serde::de::size_hint::cautious`).
const SERDE_MAX_PREALLOC: usize = 1 << 20;

// A collection is charged its capacity as it grows, before each element is decoded: serde
// preallocates what the claimed count asks (up to 1 MiB) and doubles from there. So a
// claimed count never costs more than the budget, whatever the element (a zero-sized one
// still costs a byte).
impl<'de, 'b, A: SeqAccess<'de>> SeqAccess<'de> for LimitedSeq<'b, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        // A sequence that says it is done (postcard always knows) is not charged the call
        // that finds its end.
        if self.slots && self.inner.size_hint() != Some(0) {
            let size = size_of::<T::Value>().max(1);
            if self.len == self.cap {
                let new_cap = if self.cap == 0 {
                    let hint = self.inner.size_hint().unwrap_or(0);
                    match hint.min(SERDE_MAX_PREALLOC / size) {
                        // Growing from nothing: a `Vec`'s first allocation holds 4.
                        0 => 4,
                        n => n,
                    }
                } else {
                    self.cap.saturating_mul(2)
                };
                self.budget
                    .charge::<A::Error>((new_cap - self.cap).saturating_mul(size))?;
                self.cap = new_cap;
            }
            self.len += 1;
        }
        self.inner
            .next_element_seed(LimitedSeed::new(seed, self.budget))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, 'b, A: MapAccess<'de>> MapAccess<'de> for LimitedVisitor<'b, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.budget
            .charge::<A::Error>(size_of::<K::Value>().max(1))?;
        self.inner
            .next_key_seed(LimitedSeed::new(seed, self.budget))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.budget.charge::<A::Error>(size_of::<S::Value>())?;
        self.inner
            .next_value_seed(LimitedSeed::new(seed, self.budget))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, 'b, A: EnumAccess<'de>> EnumAccess<'de> for LimitedVisitor<'b, A> {
    type Error = A::Error;
    type Variant = LimitedVisitor<'b, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let budget = self.budget;
        let (v, variant) = self.inner.variant_seed(LimitedSeed::new(seed, budget))?;
        Ok((v, LimitedVisitor::new(variant, budget)))
    }
}

impl<'de, 'b, A: VariantAccess<'de>> VariantAccess<'de> for LimitedVisitor<'b, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.inner
            .newtype_variant_seed(LimitedSeed::new(seed, self.budget))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner
            .tuple_variant(len, LimitedVisitor::fields(visitor, self.budget))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.budget.charge::<A::Error>(size_of::<V::Value>())?;
        self.inner
            .struct_variant(fields, LimitedVisitor::fields(visitor, self.budget))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Note, Sample};

    fn notes(n: usize) -> Vec<u8> {
        let s = Sample {
            notes: vec![
                Note {
                    source: String::new(),
                    reason: String::new(),
                };
                n
            ],
            ..Sample::default()
        };
        postcard::to_stdvec(&s).unwrap()
    }

    #[test]
    fn a_sample_within_the_budget_decodes_as_postcard_does() {
        let raw = notes(1000);
        let plain: Sample = postcard::from_bytes(&raw).unwrap();
        let budget = Budget::new(1 << 20);
        let limited: Sample = from_bytes(&raw, &budget).unwrap();
        assert_eq!(format!("{plain:?}"), format!("{limited:?}"));
        // Each note: its slot and its struct.
        assert!(budget.used() >= 1000 * 2 * size_of::<Note>() as u64);
    }

    #[test]
    fn a_million_empty_notes_are_refused_early() {
        let raw = notes(1_000_000);
        assert!(raw.len() < 2_100_000, "2 bytes a note on disk");
        let budget = Budget::new(8 << 20);
        let err = from_bytes::<Sample>(&raw, &budget).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge(8 << 20));
        assert!(err.to_string().contains("more than 8 MiB"), "{err}");
        // It stopped at the budget, not after decoding everything.
        assert!(budget.used() < (8 << 20) + 4096);
    }
}
