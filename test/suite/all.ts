/** Every case that runs in both Node (Dawn) and headless Chromium. */
import type { Case } from './kernels.js';
import { kernelCases } from './kernels.js';
import { recurrentSuite } from './recurrent.js';

export const sharedCases: Case[] = [...kernelCases, ...recurrentSuite];
