//! Stakeholders: one per council district, merged from what the data says and the maintained file,
//! field by field, each field recording its provenance.

pub mod derive;
pub mod file;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use derive::{
    Derivation, DeriveCounts, DerivedDistrict, NeighborhoodCouncil, Term, derive_from_csv,
    merge_derived,
};
pub use file::{DistrictEntry, StakeholderFile};

use crate::Ledger;

/// Where a field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Derived from the dataset's rows.
    Data,
    /// From the maintained stakeholder file.
    File,
}

/// A text value with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourcedText {
    /// The value.
    pub value: String,
    /// Where it came from.
    pub provenance: Provenance,
}

/// A date with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourcedDate {
    /// The value.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub value: NaiveDate,
    /// Where it came from.
    pub provenance: Provenance,
}

/// A list of names with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourcedList {
    /// The values.
    pub value: Vec<String>,
    /// Where they came from.
    pub provenance: Provenance,
}

/// The stakeholder of one council district (its council office).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stakeholder {
    /// Stable id carried by events (`cd-7`).
    pub id: String,
    /// Council district number.
    pub council_district: u8,
    /// Current council member (data: latest non-empty `CDMember`; file overrides).
    pub council_member: Option<SourcedText>,
    /// When the current member took office (file) or was first seen in the data.
    pub member_since: Option<SourcedDate>,
    /// When the current member was last seen in the data.
    pub member_last_seen: Option<SourcedDate>,
    /// District office website.
    pub website: Option<SourcedText>,
    /// Office phone.
    pub phone: Option<SourcedText>,
    /// Office e-mail.
    pub email: Option<SourcedText>,
    /// Office postal address.
    pub office_address: Option<SourcedText>,
    /// Neighborhood councils (data: seen in the district's rows; file overrides).
    pub neighborhood_councils: Option<SourcedList>,
    /// Every member seen in the data for this district, oldest first.
    pub history: Vec<Term>,
}

/// The stakeholder id of a council district.
pub fn stakeholder_id(council_district: u8) -> String {
    format!("cd-{council_district}")
}

fn text(value: &str, provenance: Provenance) -> SourcedText {
    SourcedText {
        value: value.to_owned(),
        provenance,
    }
}

/// Merges derived districts with the optional file: each file field that is set wins over the data.
pub fn merge(
    derived: &BTreeMap<u8, DerivedDistrict>,
    file: Option<&StakeholderFile>,
) -> Vec<Stakeholder> {
    let mut districts: BTreeSet<u8> = derived.keys().copied().collect();
    if let Some(f) = file {
        districts.extend(f.districts.iter().map(|d| d.council_district));
    }
    let empty = DerivedDistrict::default();
    let none = DistrictEntry::default();
    districts
        .into_iter()
        .map(|cd| {
            let data = derived.get(&cd).unwrap_or(&empty);
            let entry = file.and_then(|f| f.district(cd)).unwrap_or(&none);
            merge_one(cd, data, entry)
        })
        .collect()
}

fn merge_one(cd: u8, data: &DerivedDistrict, entry: &DistrictEntry) -> Stakeholder {
    use Provenance::{Data, File};
    let council_member = match (&entry.council_member, data.current()) {
        (Some(name), _) => Some(text(name, File)),
        (None, Some(term)) => Some(text(&term.member, Data)),
        (None, None) => None,
    };
    // Dates seen in the data describe whoever the merged member is, when the data names that member.
    let member_term = council_member
        .as_ref()
        .and_then(|m| data.terms.iter().find(|t| t.member == m.value));
    let member_since = match (entry.member_since, member_term) {
        (Some(day), _) => Some(SourcedDate {
            value: day,
            provenance: File,
        }),
        (None, Some(t)) => Some(SourcedDate {
            value: t.first_seen,
            provenance: Data,
        }),
        (None, None) => None,
    };
    let member_last_seen = member_term.map(|t| SourcedDate {
        value: t.last_seen,
        provenance: Data,
    });
    let neighborhood_councils = match &entry.neighborhood_councils {
        Some(names) => Some(SourcedList {
            value: names.clone(),
            provenance: File,
        }),
        None if !data.neighborhood_councils.is_empty() => Some(SourcedList {
            value: data
                .neighborhood_councils
                .iter()
                .map(|n| n.name.clone())
                .collect(),
            provenance: Data,
        }),
        None => None,
    };
    let from_file = |v: &Option<String>| v.as_deref().map(|s| text(s, File));
    Stakeholder {
        id: stakeholder_id(cd),
        council_district: cd,
        council_member,
        member_since,
        member_last_seen,
        website: from_file(&entry.website),
        phone: from_file(&entry.phone),
        email: from_file(&entry.email),
        office_address: from_file(&entry.office_address),
        neighborhood_councils,
        history: data.terms.clone(),
    }
}

/// Errors storing or loading derived stakeholders.
#[derive(Debug, thiserror::Error)]
pub enum StakeholderStoreError {
    /// A value cannot be part of a key.
    #[error("key: {0}")]
    Key(#[from] prefixes::KeyError),
    /// The object store failed.
    #[error("object store error at {key}: {source}")]
    Store {
        /// The key.
        key: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// The stored stakeholder file is not valid.
    #[error("{message}")]
    InvalidFile {
        /// The key.
        key: String,
        /// The located error.
        message: String,
    },
    /// The stored document is not valid.
    #[error("{key} is not a valid derived-stakeholders document: {source}")]
    Corrupt {
        /// The key.
        key: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// Writes the districts derived from one partition (or any named slice, e.g. `all`) of `dataset` to the ledger
/// bucket. Overwrites: a derivation is deterministic for its input.
pub async fn save_derived(
    ledger: &Ledger,
    dataset: &str,
    partition: &str,
    derived: &BTreeMap<u8, DerivedDistrict>,
) -> Result<(), StakeholderStoreError> {
    let store = ledger.store();
    let key = ledger.locations().derived(dataset, partition)?;
    let body = serde_json::to_vec_pretty(derived).expect("derived stakeholders serialize");
    store
        .put(&key, PutPayload::from(body))
        .await
        .map(|_| ())
        .map_err(|source| StakeholderStoreError::Store {
            key: key.to_string(),
            source,
        })
}

/// Reads and merges every derived-stakeholder document of `dataset`; none is an empty map.
pub async fn load_derived(
    ledger: &Ledger,
    dataset: &str,
) -> Result<BTreeMap<u8, DerivedDistrict>, StakeholderStoreError> {
    let store = ledger.store();
    let prefix = ledger.locations().derived_of(dataset)?;
    let store_err = |key: String| move |source| StakeholderStoreError::Store { key, source };
    let mut keys: Vec<_> = store
        .list(Some(&prefix))
        .map_ok(|m| m.location)
        .try_filter(|k| futures::future::ready(ledger.locations().is_derived(k)))
        .try_collect()
        .await
        .map_err(store_err(prefix.to_string()))?;
    keys.sort();
    let mut merged = BTreeMap::new();
    for key in keys {
        let bytes = match store.get(&key).await {
            Ok(r) => r.bytes().await.map_err(store_err(key.to_string()))?,
            // Listed, then gone (overwritten concurrently): skip.
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(store_err(key.to_string())(e)),
        };
        let doc =
            serde_json::from_slice(&bytes).map_err(|source| StakeholderStoreError::Corrupt {
                key: key.to_string(),
                source,
            })?;
        merge_derived(&mut merged, doc);
    }
    Ok(merged)
}

/// Reads the maintained stakeholder file stored at `stakeholders/{dataset}/stakeholders.yaml`, if any
/// (how the Lambda gets it; locally `civic serve --stakeholders FILE` takes precedence).
pub async fn load_stored_file(
    ledger: &Ledger,
    dataset: &str,
) -> Result<Option<StakeholderFile>, StakeholderStoreError> {
    let store = ledger.store();
    let key = ledger.locations().maintained(dataset)?;
    let bytes = match store.get(&key).await {
        Ok(r) => r.bytes().await,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => Err(e),
    }
    .map_err(|source| StakeholderStoreError::Store {
        key: key.to_string(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    StakeholderFile::parse(key.as_ref(), &text)
        .map(Some)
        .map_err(|e| StakeholderStoreError::InvalidFile {
            key: key.to_string(),
            message: e.to_string(),
        })
}
