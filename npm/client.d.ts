// `tessera-license/client`: the app's side of the API, without the validator's wasm.
// The declarations live in index.d.ts (the main entry point exports the same).
export {
  Installation, SeatClient, TesseraError, activate, deactivate, fileStorage, indexedDbStorage, memoryStorage,
} from "./index.js";
export type {
  InstallationStorage, JwkPair, Lease, LeaseAnswer, Machine, NoLeaseResult, PublicJwk, SeatClientOptions, StoredInstallation,
} from "./index.js";
