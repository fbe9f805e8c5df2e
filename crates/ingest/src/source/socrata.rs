//! Socrata SODA source: `GET {base}/resource/{id}.csv?$select=:id,*&$order=:id&$limit=N&$where=:id > 'last'`.
//! Keyset paging on `:id`; each page is downloaded whole before any of its rows is used, so a
//! dropped connection or a retryable status re-fetches the same page and no row is ever duplicated.
//! The run ends on the first empty page (a short page may be a truncated one, so it is not trusted).

use std::collections::VecDeque;

use tokio::runtime::Handle;

use super::http::{client, get_ok};
use super::{Position, RecordSource, SocrataSpec};
use crate::error::{Error, Result};

/// Name of Socrata's row id system field in CSV output.
pub const ID_FIELD: &str = ":id";

/// SODA records, page by page.
pub struct SocrataSource {
    spec: SocrataSpec,
    rt: Handle,
    client: reqwest::Client,
    header: csv::ByteRecord,
    id_col: usize,
    /// `:id` of the last row of the last page fetched (the keyset cursor of the next page).
    last_id: Option<String>,
    /// `:id` of the last row handed out (a checkpoint's cursor).
    served_id: Option<String>,
    /// The data header a resumed source must see again (None: the first page fixes it).
    expected_header: Option<csv::ByteRecord>,
    page: VecDeque<(String, csv::ByteRecord)>,
    done: bool,
    rows_served: u64,
    bytes: u64,
    pages: u64,
}

impl SocrataSource {
    /// Fetch the first page (which fixes the header).
    pub fn open(spec: SocrataSpec, rt: Handle) -> Result<Self> {
        let mut s = SocrataSource {
            client: client()?,
            spec,
            rt,
            header: csv::ByteRecord::new(),
            id_col: 0,
            last_id: None,
            served_id: None,
            expected_header: None,
            page: VecDeque::new(),
            done: false,
            rows_served: 0,
            bytes: 0,
            pages: 0,
        };
        s.fetch_page()?;
        Ok(s)
    }

    /// Continue after the row with `:id` `last_id` (a checkpoint), expecting the same `header`;
    /// nothing is fetched until the next record is asked for.
    pub fn resume(
        spec: SocrataSpec,
        rt: Handle,
        header: csv::ByteRecord,
        last_id: Option<String>,
        rows_served: u64,
        pages: u64,
    ) -> Result<Self> {
        Ok(SocrataSource {
            client: client()?,
            spec,
            rt,
            header: header.clone(),
            id_col: 0,
            last_id: last_id.clone(),
            served_id: last_id,
            expected_header: Some(header),
            page: VecDeque::new(),
            done: false,
            rows_served,
            bytes: 0,
            pages,
        })
    }

    /// Pages fetched so far (complete ones).
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The URL of the next page.
    pub fn page_url(&self) -> Result<String> {
        let base = format!(
            "{}/resource/{}.csv",
            self.spec.base_url, self.spec.dataset_id
        );
        let mut url = reqwest::Url::parse(&base).map_err(|e| Error::Http {
            url: base.clone(),
            message: e.to_string(),
        })?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("$select", ":id,*");
            q.append_pair("$order", ":id");
            q.append_pair("$limit", &self.spec.page_rows.to_string());
            if let Some(last) = &self.last_id {
                q.append_pair("$where", &format!(":id > '{}'", last.replace('\'', "''")));
            }
        }
        Ok(url.to_string())
    }

    fn fetch_page(&mut self) -> Result<()> {
        let url = self.page_url()?;
        let mut headers = Vec::new();
        if let Some(t) = &self.spec.app_token {
            headers.push(("X-App-Token", t.clone()));
        }
        let mut attempt = 0;
        let body = loop {
            attempt += 1;
            let got: Result<std::result::Result<bytes::Bytes, String>> = self.rt.block_on(async {
                let resp = get_ok(&self.client, &url, &headers, &self.spec.retry).await?;
                Ok(resp
                    .bytes()
                    .await
                    .map_err(|e| format!("connection dropped mid-page: {e}")))
            });
            let why = match got? {
                Ok(body) if body.is_empty() || body.ends_with(b"\n") => break body,
                Ok(_) => "page does not end with a newline (truncated)".to_string(),
                Err(why) => why,
            };
            if attempt >= self.spec.retry.max_attempts {
                return Err(Error::Http {
                    url,
                    message: format!("giving up after {attempt} attempts: {why}"),
                });
            }
            let wait = self.spec.retry.backoff(attempt);
            tracing::warn!(%url, attempt, ?wait, reason = %why, "re-fetching page");
            std::thread::sleep(wait);
        };
        self.bytes += body.len() as u64;
        self.parse_page(&body, &url)
    }

    fn parse_page(&mut self, body: &[u8], url: &str) -> Result<()> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut head = csv::ByteRecord::new();
        let csv_err = |e: csv::Error| Error::Csv {
            uri: url.to_string(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        };
        if !reader.read_byte_record(&mut head).map_err(csv_err)? {
            // No header at all: an empty result set.
            self.done = true;
            return Ok(());
        }
        let id_col = head
            .iter()
            .position(|h| h == ID_FIELD.as_bytes())
            .ok_or_else(|| Error::Header {
                uri: url.to_string(),
                message: format!("no {ID_FIELD} column in the page header"),
            })?;
        let data_header: csv::ByteRecord = without(&head, id_col);
        if let Some(expected) = self.expected_header.take() {
            if data_header != expected {
                return Err(Error::Header {
                    uri: url.to_string(),
                    message: "the source's header changed since the checkpoint".into(),
                });
            }
            self.id_col = id_col;
        } else if self.pages == 0 {
            self.header = data_header;
            self.id_col = id_col;
        } else if data_header != self.header || id_col != self.id_col {
            return Err(Error::Header {
                uri: url.to_string(),
                message: "page header differs from the first page's header".into(),
            });
        }
        let mut rec = csv::ByteRecord::new();
        let mut n = 0;
        while reader.read_byte_record(&mut rec).map_err(csv_err)? {
            let Some(id) = rec.get(id_col) else {
                return Err(Error::Csv {
                    uri: url.to_string(),
                    line: rec.position().map_or(0, |p| p.line()),
                    message: format!("record has no {ID_FIELD} field"),
                });
            };
            let id = String::from_utf8_lossy(id).into_owned();
            self.last_id = Some(id.clone());
            self.page.push_back((id, without(&rec, id_col)));
            n += 1;
        }
        self.pages += 1;
        tracing::info!(page = self.pages, rows = n, last_id = ?self.last_id, "page fetched");
        if n == 0 {
            self.done = true;
        }
        Ok(())
    }
}

fn without(rec: &csv::ByteRecord, col: usize) -> csv::ByteRecord {
    rec.iter()
        .enumerate()
        .filter(|(i, _)| *i != col)
        .map(|(_, f)| f)
        .collect()
}

impl RecordSource for SocrataSource {
    fn header(&self) -> &csv::ByteRecord {
        &self.header
    }

    /// Lines are numbered as if all pages were one file with one header line: row N is line N+1.
    fn next_record(&mut self, rec: &mut csv::ByteRecord) -> Result<Option<u64>> {
        loop {
            if let Some((id, r)) = self.page.pop_front() {
                *rec = r;
                self.served_id = Some(id);
                self.rows_served += 1;
                return Ok(Some(self.rows_served + 1));
            }
            if self.done {
                return Ok(None);
            }
            self.fetch_page()?;
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes
    }

    fn position(&self) -> Position {
        Position::Socrata {
            last_id: self.served_id.clone(),
            rows_served: self.rows_served,
            pages: self.pages,
        }
    }

    fn total_bytes(&self) -> Option<u64> {
        None
    }
}
