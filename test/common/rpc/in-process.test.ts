/** The RPC contract on the in-process transport of all-in-one deployments. */
import { InProcessBroker, InProcessTransport } from '../../../src/common/rpc/in-process-transport.ts';
import { rpcContract } from './rpc-contract.ts';

// A broker of the suite's own, so nothing else in the process can interfere.
const broker = new InProcessBroker();

rpcContract({
  name: 'in-process',
  async newTransport() {
    const transport = new InProcessTransport(broker, 'contract');
    await transport.connect();
    return transport;
  },
});
