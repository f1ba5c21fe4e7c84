//! Typed identifiers: an ARN, an ID and a name of a resource type are different types, so that one
//! never goes where another is wanted.
//!
//! Each wraps a [`Value<String>`] (a literal for an imported resource, a `Ref` or `Fn::GetAtt` for one
//! of the app) and is tagged with the L1 type it identifies. All of them convert into a plain
//! `Value<String>` for L1 properties, which take any string.
//!
//! ```compile_fail
//! use cfn_synth::cfn::kms;
//! use cfn_synth::constructs::ids::{Arn, KeyId};
//! // An ARN is not an ID, even of the same key.
//! let id: KeyId = Arn::<kms::Key>::new("arn:aws:kms:us-east-1:111122223333:key/k");
//! ```
//!
//! ```compile_fail
//! use cfn_synth::cfn::{ec2, kms};
//! use cfn_synth::constructs::ids::{Arn, Id};
//! use cfn_synth::constructs::network::SecurityGroup;
//! // A key's ARN does not go where a security group's ID is wanted.
//! let group = SecurityGroup::from_id(Arn::<kms::Key>::new("arn:aws:kms:us-east-1:111122223333:key/k"));
//! ```

use std::fmt;
use std::marker::PhantomData;

use crate::template::Value;

macro_rules! typed_identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        pub struct $name<R> {
            value: Value<String>,
            resource: PhantomData<fn() -> R>,
        }

        impl<R> $name<R> {
            #[doc = concat!("The ", $what, " `value`: a literal for an existing resource, or an intrinsic.")]
            pub fn new(value: impl Into<Value<String>>) -> Self {
                Self { value: value.into(), resource: PhantomData }
            }

            #[doc = concat!("The ", $what, " as a plain string value, for an L1 property.")]
            pub fn value(&self) -> Value<String> {
                self.value.clone()
            }
        }

        impl<R> Clone for $name<R> {
            fn clone(&self) -> Self {
                Self::new(self.value.clone())
            }
        }

        impl<R> PartialEq for $name<R> {
            fn eq(&self, other: &Self) -> bool {
                self.value == other.value
            }
        }

        impl<R> fmt::Debug for $name<R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.value).finish()
            }
        }

        impl<R> serde::Serialize for $name<R> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.value.serialize(serializer)
            }
        }

        impl<R> From<$name<R>> for Value<String> {
            fn from(identifier: $name<R>) -> Self {
                identifier.value
            }
        }

        impl<R> From<&$name<R>> for Value<String> {
            fn from(identifier: &$name<R>) -> Self {
                identifier.value.clone()
            }
        }
    };
}

typed_identifier!(
    /// The ARN of a resource of type `R` (an L1 type such as `cfn::kms::Key`).
    Arn,
    "ARN"
);
typed_identifier!(
    /// The ID of a resource of type `R`, such as a VPC's `vpc-…` or a key's UUID.
    Id,
    "ID"
);
typed_identifier!(
    /// The name of a resource of type `R`, such as a bucket's or a cluster's.
    Name,
    "name"
);

/// A KMS key's ID (its UUID), which some services want instead of its ARN.
#[cfg(feature = "kms")]
pub type KeyId = Id<crate::cfn::kms::Key>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::kms;

    #[test]
    fn identifiers_compare_by_value_and_become_plain_values() {
        let arn = Arn::<kms::Key>::new("arn:aws:kms:us-east-1:111122223333:key/k");
        assert_eq!(arn.clone(), arn);
        assert_eq!(Value::from(&arn), Value::from("arn:aws:kms:us-east-1:111122223333:key/k"));
        assert_eq!(format!("{:?}", Id::<kms::Key>::new("k")), format!("Id({:?})", Value::from("k")));
    }
}
