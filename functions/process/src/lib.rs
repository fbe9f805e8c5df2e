//! Handler library of the `process` Lambda: the locations it reads and writes, typed by the generated
//! `prefixes` crate (a removed grant stops this crate from compiling), and [`Function`], the worklist consumer
//! wired from a [`platform::Platform`] (S3/SQS in `main.rs`, local folders and embedded queues in `civic`).

use std::sync::Arc;

use prefixes::Prefix;
use prefixes::access::{Read, ReadWrite};
use prefixes::keys::{
    Associations, Canonical, Events, Features, Processed, Quarantine, Raw, Runs, Stakeholders,
    Worklist,
};

/// Where the worklist consumer reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    pub raw: Prefix<Raw, Read>,
    pub quarantine: Prefix<Quarantine, ReadWrite>,
    pub runs: Prefix<Runs, ReadWrite>,
    pub worklist: Prefix<Worklist, ReadWrite>,
    pub canonical: Prefix<Canonical, ReadWrite>,
    pub processed: Prefix<Processed, ReadWrite>,
    pub features: Prefix<Features, ReadWrite>,
    pub associations: Prefix<Associations, ReadWrite>,
    pub events: Prefix<Events, ReadWrite>,
    pub stakeholders: Prefix<Stakeholders, ReadWrite>,
}

impl Locations {
    pub const fn granted() -> Self {
        use prefixes::process as p;
        Locations {
            raw: p::raw(),
            quarantine: p::quarantine(),
            runs: p::runs(),
            worklist: p::worklist(),
            canonical: p::canonical(),
            processed: p::processed(),
            features: p::features(),
            associations: p::associations(),
            events: p::events(),
            stakeholders: p::stakeholders(),
        }
    }

    /// What the transform reads and writes.
    pub fn harmonize(&self) -> harmonize::Locations {
        harmonize::Locations {
            raw: self.raw,
            runs: self.runs.into(),
            canonical: self.canonical,
            quarantine: self.quarantine.into(),
        }
    }

    /// What the analysis reads and writes.
    pub fn analysis(&self) -> analysis::Locations {
        analysis::Locations {
            canonical: self.canonical.into(),
            processed: self.processed,
            features: self.features,
            associations: self.associations,
        }
    }

    /// What the worklist consumer reads and writes.
    pub fn worklist(&self) -> worklist::Locations {
        worklist::Locations::new(self.runs, self.worklist)
    }

    /// What the ledger reads and writes.
    pub fn ledger(&self) -> ledger::Locations {
        ledger::Locations {
            events: self.events,
            stakeholders: self.stakeholders,
        }
    }
}

pub mod runners;
pub use runners::{Datasets, registry};

/// The `process` function as its `main` runs it: the recursive worklist consumer on its trigger queue.
pub struct Function {
    /// Data bucket, work queue and DLQ, the layer runners and the chain.
    pub consumer: worklist::Consumer,
}

impl Function {
    /// Wire the consumer from the platform: buckets and queue URLs from the variables the template sets, the
    /// layer chain from the generated queue, the runners of [`registry`] (with the city-wide fan-in hook).
    pub fn new(platform: &dyn platform::Platform) -> anyhow::Result<Self> {
        Self::with_datasets(platform, Arc::new(Datasets::builtin()?))
    }

    /// [`Function::new`] with the runners over `datasets` instead of the catalog compiled in (`civic process
    /// --catalog DIR`).
    pub fn with_datasets(
        platform: &dyn platform::Platform,
        datasets: Arc<Datasets>,
    ) -> anyhow::Result<Self> {
        let queue = prefixes::process::queues::WORKLIST;
        let locations = Locations::granted();
        let data = platform.bucket(locations.raw.bucket())?;
        let ledger = ledger::Ledger::new(
            platform.bucket(locations.events.bucket())?,
            locations.ledger(),
        );
        let runners = registry(&data, &locations, Some(&ledger), datasets);
        let work = platform.queue(queue)?;
        let dlq = platform.open_queue(&platform.dlq_url(queue)?)?;
        let layers = queue.layers.iter().map(|l| l.to_string()).collect();
        Ok(Function {
            consumer: worklist::Consumer::new(
                data,
                locations.worklist(),
                work,
                dlq,
                runners,
                worklist::Config::new(layers),
            ),
        })
    }

    /// One invocation: step every record; the failed ones come back as batch item failures.
    pub async fn handle(
        &self,
        event: aws_lambda_events::event::sqs::SqsEvent,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        worklist::lambda::handle_sqs_event(&self.consumer, event).await
    }
}
