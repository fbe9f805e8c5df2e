//! Stakeholders: one per council district, merged from what the data says and the maintained file,
//! field by field, each field recording its provenance; the member named is the current one ([`merge`]) or the
//! one in office on a date ([`merge_at`], by [`terms::DistrictTerms`]).

pub mod derive;
pub mod file;
pub mod terms;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use derive::{
    Derivation, DeriveCounts, DerivedDistrict, NeighborhoodCouncil, Term, derive_from_csv,
    merge_derived,
};
pub use file::{DistrictEntry, FileTerm, StakeholderFile};
pub use terms::{Basis, DatedTerm, DistrictTerms, InOffice, window_days};

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
    /// The council member: the current one (data: latest non-empty `CDMember`; the file's latest term overrides),
    /// or with a date asked for, the member in office on it (see `in_office`).
    pub council_member: Option<SourcedText>,
    /// When that member took office (file) or was first seen in the data.
    pub member_since: Option<SourcedDate>,
    /// When that member was last seen in the data.
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
    /// The district's terms, oldest first: the maintained file's (with their dates and sources) merged with the
    /// members the data names.
    pub terms: Vec<DatedTerm>,
    /// Only when a date was asked for: the term in office on it and how the date falls in it (absent from the
    /// answer when no term covers the date: a vacancy, or a date the sources do not reach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_office: Option<InOffice>,
}

impl Stakeholder {
    /// The district's terms with the span each covers (the lookup by date or window).
    pub fn dated_terms(&self) -> DistrictTerms {
        DistrictTerms::from_terms(self.terms.clone())
    }

    /// The members in office during a finding's window (`[start, end)`), oldest first: one name, or
    /// `"A (until D), then B"` when the window spans a change, each with its term's basis when not dated by the
    /// file; `unknown` when no term covers the window.
    pub fn named_during(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        let (first, last) = window_days(start, end);
        describe(&self.dated_terms().all_during(first, last), first)
    }
}

/// `"A"`, `"A (seen in the data)"`, `"A (until 2022-12-11), then B"`, `"B (from 2023-07-05; none named before)"`
/// for the members in office during a window starting on `first`; `unknown` for none.
pub fn describe(members: &[InOffice], first: NaiveDate) -> String {
    if members.is_empty() {
        return "unknown (no term covers this period)".into();
    }
    let many = members.len() > 1;
    members
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut notes = Vec::new();
            if i == 0
                && let Some(from) = o.covers_from.filter(|f| *f > first)
            {
                notes.push(format!("from {from}; none named before"));
            }
            match o.basis {
                Basis::Dated => {}
                Basis::Seen => notes.push("seen in the data".to_owned()),
                Basis::Inferred => notes.push("inferred".to_owned()),
            }
            if many
                && i + 1 < members.len()
                && let Some(u) = o.covers_until
            {
                notes.push(format!("until {u}"));
            }
            if notes.is_empty() {
                o.member.clone()
            } else {
                format!("{} ({})", o.member, notes.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", then ")
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
    merge_impl(derived, file, None)
}

/// [`merge`], naming in each district the member in office on `day` (`in_office` says which term and how).
pub fn merge_at(
    derived: &BTreeMap<u8, DerivedDistrict>,
    file: Option<&StakeholderFile>,
    day: NaiveDate,
) -> Vec<Stakeholder> {
    merge_impl(derived, file, Some(day))
}

fn merge_impl(
    derived: &BTreeMap<u8, DerivedDistrict>,
    file: Option<&StakeholderFile>,
    day: Option<NaiveDate>,
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
            merge_one(cd, data, entry, file.and_then(|f| f.terms_from), day)
        })
        .collect()
}

fn merge_one(
    cd: u8,
    data: &DerivedDistrict,
    entry: &DistrictEntry,
    terms_from: Option<NaiveDate>,
    day: Option<NaiveDate>,
) -> Stakeholder {
    use Provenance::{Data, File};
    let terms = DistrictTerms::merge(data, Some(entry), terms_from);
    let in_office = day.and_then(|d| terms.at(d));
    // The member: in office on the day asked for; else the file's latest term; else the data's current member.
    let member: Option<DatedTerm> = match day {
        Some(_) => in_office.as_ref().map(|o| o.term.clone()),
        None => match entry.terms.last() {
            Some(_) => terms.current().map(|(_, t)| t.clone()),
            None => data
                .current()
                .and_then(|c| terms.terms().iter().find(|t| t.member == c.member).cloned()),
        },
    };
    let council_member = member.as_ref().map(|t| text(&t.member, t.provenance));
    // Dates seen in the data describe the member when the data names that member.
    let member_since = member.as_ref().and_then(|t| t.member_since.clone());
    let member_last_seen = member.as_ref().and_then(|t| {
        t.last_seen.map(|value| SourcedDate {
            value,
            provenance: Data,
        })
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
        terms: terms.terms().to_vec(),
        in_office,
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

impl StakeholderFile {
    /// The terms the file lists for `district` (no data), with their spans: the lookup when there is no data yet
    /// (the generator's era-true `CDMember`).
    pub fn terms_of(&self, district: u8) -> DistrictTerms {
        DistrictTerms::merge(
            &DerivedDistrict::default(),
            self.district(district),
            self.terms_from,
        )
    }
}
