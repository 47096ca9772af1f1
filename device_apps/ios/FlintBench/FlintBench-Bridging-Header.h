#import "FLTTrainer.h"
