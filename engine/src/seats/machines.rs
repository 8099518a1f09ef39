//! Node-locked licenses: the machines a license is activated on.
//!
//! A machine is an installation (the thumbprint of its key) the license was activated
//! on, with the name and platform it gave. A license with `max_machines` above zero is
//! node-locked: it lends seats only to its machines, and is activated on at most that
//! many at once. Any license counts activations per rolling day against
//! `activations_per_day` (when above zero), so deactivating and activating again in a
//! loop — an installer script, a reimaging farm — is refused with the time to wait.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::events::{ActivationRefused, Changes, SeatDenial, SeatEventKind, Subject, event};
use super::model::{Activation, MAX_MACHINES, Machine, MachineDetails, SeatRequest};
use super::pool::Pool;
use crate::claims::DAY;

impl Pool {
    /// The machine of `installation`, if activated.
    pub fn machine(&self, installation: &str) -> Option<&Machine> {
        self.machines.get(installation)
    }

    /// The machine with id `id`, if any.
    pub fn machine_by_id(&self, id: &str) -> Option<&Machine> {
        self.machines.values().find(|m| m.id == id)
    }

    /// Every machine, oldest activation first.
    pub fn machines(&self) -> Vec<&Machine> {
        let mut all: Vec<&Machine> = self.machines.values().collect();
        all.sort_by(|a, b| (a.activated_at, &a.id).cmp(&(b.activated_at, &b.id)));
        all
    }

    /// When the last day's activations happened, to store.
    pub fn activations(&self) -> &[u64] {
        &self.activations
    }

    /// Activate the license on `installation` (a new machine gets id `new_id`). An
    /// installation already active gets its machine back, unchanged.
    pub fn activate(
        &mut self,
        installation: &str,
        details: MachineDetails<'_>,
        new_id: &str,
        now: u64,
        ch: &mut Changes,
    ) -> Result<Activation, ActivationRefused> {
        self.sweep(now, ch);
        let asking = SeatRequest {
            product: "",
            user: "",
            host: details.name,
            installation,
        };
        if let Some(denial) = self.license_ended(now) {
            self.refuse(asking, denial, now, ch);
            return Err(ActivationRefused::Denied(denial));
        }
        if let Some(machine) = self.machines.get(installation) {
            return Ok(Activation {
                machine: machine.clone(),
                created: false,
            });
        }
        let max = match self.terms.max_machines {
            0 => MAX_MACHINES,
            n => (n as usize).min(MAX_MACHINES),
        };
        if self.machines.len() >= max {
            let denial = SeatDenial::MachineLimitReached;
            self.refuse(asking, denial, now, ch);
            return Err(ActivationRefused::Denied(denial));
        }
        let since = now.saturating_sub(DAY);
        if self.activations.iter().any(|at| *at <= since) {
            self.activations.retain(|at| *at > since);
            ch.activations = true;
        }
        let per_day = self.terms.activations_per_day as usize;
        if per_day > 0 && self.activations.len() >= per_day {
            let oldest = self.activations.iter().min().copied().unwrap_or(now);
            let retry_after = (oldest + DAY).saturating_sub(now).max(1);
            self.refuse(asking, SeatDenial::TooManyActivations, now, ch);
            return Err(ActivationRefused::TooManyActivations { retry_after });
        }
        let machine = Machine {
            id: new_id.to_string(),
            installation: installation.to_string(),
            name: details.name.to_string(),
            platform: details.platform.to_string(),
            fingerprint: details.fingerprint.to_string(),
            activated_at: now,
        };
        self.machines
            .insert(installation.to_string(), machine.clone());
        self.activations.push(now);
        ch.activations = true;
        ch.machines_saved.insert(installation.to_string());
        ch.events.push(event(
            now,
            SeatEventKind::Activated,
            machine_subject(&machine),
            None,
        ));
        Ok(Activation {
            machine,
            created: true,
        })
    }

    /// Deactivate machine `id` (by itself, or an administrator `by`): it leaves the
    /// license, and every seat it holds ends. `None` if there is no such machine.
    pub fn deactivate(&mut self, id: &str, now: u64, ch: &mut Changes) -> Option<Machine> {
        self.sweep(now, ch);
        let installation = self.machine_by_id(id)?.installation.clone();
        let machine = self.machines.remove(&installation)?;
        ch.machines_removed.insert(installation.clone());
        ch.events.push(event(
            now,
            SeatEventKind::Deactivated,
            machine_subject(&machine),
            None,
        ));
        let held: Vec<String> = self
            .leases
            .values()
            .filter(|l| l.session(&installation).is_some())
            .map(|l| l.id.clone())
            .collect();
        for lease in held {
            self.end_session(&lease, &installation, "MACHINE_DEACTIVATED", now, ch);
        }
        Some(machine)
    }
}

fn machine_subject(machine: &Machine) -> Subject<'_> {
    Subject {
        lease: Some(&machine.id),
        product: "",
        user: "",
        host: &machine.name,
        installation: &machine.installation,
    }
}
