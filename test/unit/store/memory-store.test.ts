import { createMemoryStore } from '../../../src/store/memory-store.js';
import { runStoreContract } from '../../contract/store-contract.js';

runStoreContract('memory', async () => {
  const store = await createMemoryStore();
  return { store, cleanup: () => store.close() };
});
