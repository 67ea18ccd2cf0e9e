/** The cpg backend module: its configuration is read, checked and asked for, but this build cannot run it. */
import type { BackendModule } from '../module.js';
import { cpgReference, readCpgBackend, type CpgBackendConfig } from './config.js';
import { askCpg } from './questions.js';

export const cpg: BackendModule<CpgBackendConfig> = {
  name: 'cpg',
  available: false,
  read: readCpgBackend,
  reference: cpgReference,
  ask: askCpg,
  create: async () => {
    throw new Error('backend module cpg is not available in this build yet');
  },
};
