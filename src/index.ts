export { createRuntime, Runtime, GPUKernelError, type RuntimeOptions } from './runtime.js';
export { Tensor, Arena, numel, type ArenaTable } from './tensor.js';
export { Kernel, type KernelDesc, type Params } from './kernel.js';
export type { Dispatch, Counters } from './scheduler.js';
export {
  gemm,
  gemmDispatch,
  fill,
  copy,
  scale,
  axpy,
  colSum,
  sumSquares,
  rowNorms,
  swap01,
  swapAxes,
  relu,
  reluBackward,
  tanhAct,
  tanhBackward,
  dropout,
  bumpCounter,
  dropoutMaskCpu,
  pickTokens,
  pcg,
  unit24,
  type PickOptions,
  type GemmOptions,
  type GemmVariant,
  type GemmShift,
  type DropoutMask,
} from './ops.js';
export { registerShader, shaderSources } from './shaders.js';
export { Recurrent, RNN, LSTM, GRU, type Cell, type RecurrentOptions, type ForwardState, type ForwardResult, type BackwardResult } from './nn/recurrent.js';
export {
  kerasLSTMToTorch,
  kerasGRUToTorch,
  kerasSimpleRNNToTorch,
  fromTfjsWeights,
  type KerasWeights,
  type KerasToTorchOptions,
  type KerasGRUOptions,
  type TorchStateDict,
  type TfjsWeight,
  type TfjsConverted,
  type KerasLayerKind,
} from './nn/keras.js';
export { WaveNet, receptiveField, type WaveNetConfig } from './nn/wavenet.js';
export { generationUniform, type GenerateOptions } from './nn/wavenet_generate.js';
export { muLawEncode, muLawDecode } from './nn/mulaw.js';
export { CrossEntropyLoss, MSELoss, type CrossEntropyOptions, type LossResult } from './train/loss.js';
export { Module, Linear, Embedding, Dropout, ReLU, Sequential, type Layer } from './nn/layers.js';
export { SequenceToSequence, SequenceToVector, type SequenceModelOptions } from './models/sequence.js';
export { encodeSafetensors, decodeSafetensors, toFloat32, DEFAULT_MAX_HEADER_BYTES, type SafeTensor, type SafeDtype, type DecodeOptions } from './io/safetensors.js';
export { saveFile, loadFile, saveSafetensors, loadSafetensors } from './io/checkpoint-node.js';
export { Optimizer, SGD, Adam, AdamW, clipGradNorm, clipGradValue, type SGDOptions, type AdamOptions, type StateValue } from './train/optim.js';
export { Scheduler, stepLR, cosineAnnealing, linearLR, linearWarmup, constantLR, sequential, warmupCosine, type Schedule } from './train/schedule.js';
export { fit, type Trainable, type TrainData, type FitOptions, type FitResult, type StepInfo } from './train/fit.js';
export { saveCheckpoint, loadCheckpoint, downloadCheckpoint, saveToIndexedDB, loadFromIndexedDB, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, MAX_CHECKPOINT_STEP, type CheckpointModel, type CheckpointModule, type CheckpointExtra, type LoadedCheckpoint } from './train/checkpoint.js';
export { EncoderDecoder, VectorToSequence, type EncoderDecoderOptions, type VectorToSequenceOptions, type Seq2SeqDecodeOptions, type Seq2SeqSampleOptions } from './models/seq2seq.js';
export { arenaParameters, type Parameter } from './nn/params.js';
