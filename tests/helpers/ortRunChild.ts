// Run in a child process by tests/unit/hostile-files.test.ts, which checks this process's stderr:
// a model that loads but fails at run time (a Reshape to an impossible shape) makes onnxruntime
// print a coloured "[E:onnxruntime:...]" line unless the session's log severity silences it.
import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder, attr } from '../../src-main/core/onnx/graphBuilder.js';
import { createSession } from '../../src-main/core/onnx/providers.js';

const b = new OnnxGraphBuilder('bad_reshape');
b.addInput('pixel_values', 'float32', ['batch', 3, 16, 16]);
const shape = b.op('Constant', [], { value_ints: attr.ints([7, 5, -1]) });
b.node('Reshape', ['pixel_values', shape], ['out']);
b.addOutput('out', 'float32', [7, 5, 'x']);
const { session } = await createSession(b.toBytes(), 'cpu');
try {
  await session.run({ pixel_values: new ort.Tensor('float32', new Float32Array(768), [1, 3, 16, 16]) });
  console.log('ran');
} catch (e) {
  console.log('refused:', (e as Error).message.split('\n')[0]!.slice(0, 60));
}
