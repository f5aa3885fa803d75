// The published declarations use WebGPU's types (GPUDevice, ...): consumers get them from @webgpu/types.
/// <reference types="@webgpu/types" preserve="true" />
export { createRuntime, Runtime, GPUKernelError, type RuntimeOptions } from './runtime.js';
export { Tensor, Arena, numel, type ArenaTable } from './tensor.js';
export { Kernel, type KernelDesc, type Params } from './kernel.js';
export type { Dispatch, Counters } from './scheduler.js';
export { Profile, type KernelTime, type StepTime, type DispatchTime } from './profile.js';
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
export { loadReflector } from './reflect-live.js';
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
export { Linear, Embedding, Dropout, ReLU, Sequential, type Layer } from './nn/layers.js';
export { SequenceToSequence, SequenceToVector, type SequenceModelOptions } from './models/sequence.js';
export { encodeSafetensors, decodeSafetensors, toFloat32, DEFAULT_MAX_HEADER_BYTES, type SafeTensor, type SafeDtype, type DecodeOptions } from './io/safetensors.js';
export { Optimizer, ParamGroup, SGD, Adam, AdamW, clipGradNorm, clipGradValue, contiguousRuns, type SGDOptions, type AdamOptions, type ParamGroupSpec, type ParamsArg, type OptimizerStateDict } from './train/optim.js';
export { Scheduler, stepLR, cosineAnnealing, linearLR, linearWarmup, constantLR, sequential, warmupCosine, type Schedule } from './train/schedule.js';
export { fit, type FitOptions, type FitResult } from './train/fit.js';
export { Trainer, EarlyStopping, type TrainModel, type TrainerOptions, type TrainerFitOptions, type TrainerFitResult, type StepInfo, type EpochInfo, type EvalResult, type Callback } from './train/trainer.js';
export { textData, seriesData, pairedData, hash32, permutation, type TrainData, type TextData, type SeriesData, type WindowOptions, type PairedDataOptions } from './train/data.js';
export { saveCheckpoint, loadCheckpoint, downloadCheckpoint, saveToIndexedDB, loadFromIndexedDB, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, MAX_CHECKPOINT_STEP, type CheckpointExtra, type LoadedCheckpoint } from './train/checkpoint.js';
export { EncoderDecoder, VectorToSequence, type EncoderDecoderOptions, type VectorToSequenceOptions, type Seq2SeqDecodeOptions, type Seq2SeqSampleOptions } from './models/seq2seq.js';
export { Module, ArenaModule, Container, outputOf, inputGradOf, type Parameter, type StateValue as StateDictValue, type StateDict, type LoadStateOptions, type LoadStateResult, type ForwardOutput, type BackwardOutput } from './nn/module.js';
export {
  serveTraining,
  trainerJob,
  TrainingClient,
  TrainingWorker,
  LocalTraining,
  WorkerUnavailable,
  type TrainingJob,
  type ServeOptions,
  type WorkerScope,
  type TrainingSetup,
  type TrainingPoint,
  type TrainingState,
  type Progress,
  type ToWorker,
  type FromWorker,
} from './worker.js';
