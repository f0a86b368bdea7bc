"""
minijit 소개: 모듈, Autograd, 그리고 추적(tracing)
==================================================

이 튜토리얼은 PyTorch의 "TorchScript 소개" 튜토리얼 앞부분을 PyTorch 대신 minijit으로
따라가 봅니다.  minijit은 ``import minijit as torch`` 한 줄만 바꾸면 PyTorch 프로그램이
그대로 돌아가도록 만들어졌습니다: 같은 시드값(seed)은 같은 난수를 만들고, 모듈, 텐서,
그래프, 코드는 모두 PyTorch와 같은 텍스트로 출력됩니다.

실행 방법: ``python tutorials/ko/01_intro_to_minijit.py``.  ``# %%`` 는 각 셀(cell)의
시작입니다.  영어판은 ``tutorials/01_intro_to_minijit.py`` 이며, 코드는 똑같습니다.
"""
# %%
# 모듈(Module)과 forward
# ----------------------
# 모듈은 상태(매개변수(parameter)와 하위 모듈)와 ``forward`` 함수를 하나로 묶은 것입니다.
# 첫 번째 cell에는 매개변수가 전혀 없습니다: 두 입력을 더한 뒤 ``tanh`` 로 값을 -1과 1
# 사이로 눌러 줍니다.
import minijit as torch

print(torch.__version__)
torch.manual_seed(191009)   # minijit의 생성기는 PyTorch와 같은 MT19937입니다: 같은 시드, 같은 숫자


class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()

    def forward(self, x, h):
        new_h = torch.tanh(x + h)
        return new_h, new_h


my_cell = MyCell()
x = torch.rand(3, 4)
h = torch.rand(3, 4)
print(my_cell(x, h))


# %%
# 모듈 안의 모듈
# --------------
# 모듈을 속성에 대입하면 하위 모듈로 등록됩니다: 모듈을 ``print`` 하면 계층 구조에
# 나타나고, 그 매개변수는 ``my_cell.parameters()`` 에 포함됩니다.  ``nn.Linear`` 는 초기
# 가중치를 PyTorch와 정확히 같은 순서로 생성기에서 뽑기 때문에, 아래 출력은 PyTorch의
# 출력과 표시된 자릿수까지 같습니다.  끝에 붙은 ``grad_fn=<TanhBackward0>`` 는 Autograd가
# 이 출력이 어떻게 만들어졌는지 기록해 두었다는 뜻입니다.
class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


my_cell = MyCell()
print(my_cell)
print(my_cell(x, h))


# %%
# 제어 흐름(control flow)
# -----------------------
# ``forward`` 는 평범한 Python 코드이므로 데이터에 따라 분기할 수 있습니다.  (아래의
# 추적은 이런 분기를 보지 못합니다; 다음 튜토리얼의 스크립팅은 분기를 그대로 보존합니다.)
class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x


class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.dg = MyDecisionGate()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


my_cell = MyCell()
print(my_cell)
print(my_cell(x, h))

# %%
# Autograd
# --------
# 연산이 실행될 때마다 변화도 테이프(gradient tape)에 노드가 하나씩 기록되고, ``backward``
# 는 이 테이프를 출력에서 잎(leaf) 텐서 쪽으로 거꾸로 재생합니다.
new_h, _ = my_cell(x, h)
new_h.sum().backward()
print("grad_fn chain:", new_h.grad_fn.name(), "->",
      [type(f).__name__ for f, _ in new_h.grad_fn.next_functions if f is not None])
print("d(sum)/d(bias) has shape", tuple(my_cell.linear.bias.grad.shape))


# %%
# 추적(tracing)
# -------------
# ``torch.jit.trace`` 는 입력 예를 가지고 모듈을 한 번 실행하면서, 실행된 모든 연산을
# 중간 표현(IR)인 그래프에 기록합니다.  하위 모듈은 자기 그래프를 따로 가지며
# (``prim::CallMethod``), ``.code`` 는 그래프를 다시 Python 구문으로 보여 줍니다.  추적된
# 모듈은 원래 모듈과 같은 값을 계산합니다.
class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


my_cell = MyCell()
x, h = torch.rand(3, 4), torch.rand(3, 4)
traced_cell = torch.jit.trace(my_cell, (x, h))
print(traced_cell)
traced_cell(x, h)
print(traced_cell.graph)
print(traced_cell.code)
print(my_cell(x, h))
print(traced_cell(x, h))


# %%
# 추적이 제어 흐름을 잃어버리는 이유
# ----------------------------------
# 추적기는 실제로 실행된 연산만 봅니다.  이번 입력 예에서는 ``MyDecisionGate`` 가 입력을
# 그대로 돌려주었기 때문에, 추적된 그래프에는 연산이 하나도 없고 (PyTorch도 똑같이
# ``-> NoneType: return None`` 이라는 묘한 결과를 출력합니다) ``if`` 분기는 사라졌습니다.
# 텐서를 Python bool로 바꾸는 순간 TracerWarning이 이 사실을 경고합니다.
class MyCell(torch.nn.Module):
    def __init__(self, dg):
        super(MyCell, self).__init__()
        self.dg = dg
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


my_cell = MyCell(MyDecisionGate())
traced_cell = torch.jit.trace(my_cell, (x, h))
print(traced_cell.dg.code)
print(traced_cell.code)
