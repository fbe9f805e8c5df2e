//! The canonical Arrow schema (derived from the catalog only) and the builder of canonical record batches.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int16Builder, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::catalog::{Catalog, ColumnType};
use crate::row::Value;

/// The Arrow type of a canonical column type.
pub fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::String => DataType::Utf8,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Int16 => DataType::Int16,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Uint64 => DataType::UInt64,
    }
}

/// The canonical schema: one field per catalog column, in catalog order, with its doc as field metadata.
/// It depends on the catalog only (never on the source era), so every year's output is identical.
pub fn schema(catalog: &Catalog) -> SchemaRef {
    let fields: Vec<Field> = catalog
        .columns
        .iter()
        .map(|c| {
            let nullable = !(c.required || c.lineage.is_some());
            Field::new(c.name.value.clone(), arrow_type(c.ty), nullable)
                .with_metadata(HashMap::from([("doc".to_string(), c.doc.clone())]))
        })
        .collect();
    let meta = HashMap::from([
        ("dataset".to_string(), catalog.dataset.clone()),
        ("canonical_version".to_string(), catalog.version.to_string()),
    ]);
    Arc::new(Schema::new_with_metadata(fields, meta))
}

enum Col {
    Str(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    I16(Int16Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    U64(UInt64Builder),
}

/// Accumulates canonical rows into a record batch.
pub struct BatchBuilder {
    schema: SchemaRef,
    cols: Vec<Col>,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(schema: SchemaRef) -> Self {
        let cols = schema
            .fields()
            .iter()
            .map(|f| Self::col(f.data_type()))
            .collect();
        BatchBuilder {
            schema,
            cols,
            rows: 0,
        }
    }

    fn col(dt: &DataType) -> Col {
        match dt {
            DataType::Utf8 => Col::Str(StringBuilder::new()),
            DataType::Timestamp(..) => {
                Col::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            DataType::Int16 => Col::I16(Int16Builder::new()),
            DataType::Float64 => Col::F64(Float64Builder::new()),
            DataType::Boolean => Col::Bool(BooleanBuilder::new()),
            DataType::UInt64 => Col::U64(UInt64Builder::new()),
            other => unreachable!("canonical schema has no {other} columns"),
        }
    }

    /// Rows appended since the last `finish`.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Append one row (values in schema order, types as produced by the row transform).
    pub fn push(&mut self, values: &[Value]) {
        for (col, v) in self.cols.iter_mut().zip(values) {
            match (col, v) {
                (Col::Str(b), Value::Str(s)) => b.append_value(s),
                (Col::Str(b), Value::Null) => b.append_null(),
                (Col::Ts(b), Value::Ts(t)) => b.append_value(*t),
                (Col::Ts(b), Value::Null) => b.append_null(),
                (Col::I16(b), Value::I16(n)) => b.append_value(*n),
                (Col::I16(b), Value::Null) => b.append_null(),
                (Col::F64(b), Value::F64(x)) => b.append_value(*x),
                (Col::F64(b), Value::Null) => b.append_null(),
                (Col::Bool(b), Value::Bool(x)) => b.append_value(*x),
                (Col::Bool(b), Value::Null) => b.append_null(),
                (Col::U64(b), Value::U64(n)) => b.append_value(*n),
                (Col::U64(b), Value::Null) => b.append_null(),
                (_, v) => unreachable!("row transform produced {v:?} for a column of another type"),
            }
        }
        self.rows += 1;
    }

    /// The accumulated rows as a batch; the builder is empty afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Str(b) => Arc::new(b.finish()),
                    Col::Ts(b) => Arc::new(b.finish()),
                    Col::I16(b) => Arc::new(b.finish()),
                    Col::F64(b) => Arc::new(b.finish()),
                    Col::Bool(b) => Arc::new(b.finish()),
                    Col::U64(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
    }
}
